// Package label encodes the three heads of a facet sample (mask, gender,
// age group) and the 18-class competition label built from them.
//
// Every part is an int8 where -1 means unknown: partial labels are normal
// (an age data set has no mask variety, a mask data set has no ages). The
// 18-class label is mask*6 + gender*3 + age_group and is known only when
// all three parts are.
package label

import (
	"fmt"
	"strconv"
	"strings"
)

// Unknown marks a label part (or the age) that a data set does not give.
const Unknown = -1

// Mask states.
const (
	Wear      = 0 // mask worn correctly
	Incorrect = 1 // mask worn, nose or mouth exposed
	NoMask    = 2 // no mask
)

// Genders.
const (
	Male   = 0
	Female = 1
)

// NumClasses is the number of joint classes (3 mask x 2 gender x 3 age groups).
const NumClasses = 18

// Head names one classification head, also the name of its table column.
type Head string

// The heads of the model and the columns that hold them.
const (
	HeadMask     Head = "mask"
	HeadGender   Head = "gender"
	HeadAgeGroup Head = "age_group"
	HeadLabel    Head = "label"
)

// Heads lists the three part heads in the order the label encodes them.
var Heads = []Head{HeadMask, HeadGender, HeadAgeGroup}

var names = map[Head][]string{
	HeadMask:     {"wear", "incorrect", "none"},
	HeadGender:   {"male", "female"},
	HeadAgeGroup: {"young", "middle", "old"},
}

// aliases are the other spellings Parse accepts, as data sets write them.
var aliases = map[Head]map[string]int8{
	HeadMask: {
		"mask": Wear, "with_mask": Wear, "masked": Wear, "correct": Wear,
		"incorrect_mask": Incorrect, "mask_weared_incorrect": Incorrect, "incorrectly": Incorrect,
		"normal": NoMask, "no_mask": NoMask, "nomask": NoMask, "without_mask": NoMask, "unmasked": NoMask, "not_wear": NoMask,
	},
	HeadGender: {"m": Male, "man": Male, "f": Female, "woman": Female},
}

// Size is the number of classes of a head.
func Size(h Head) int {
	if h == HeadLabel {
		return NumClasses
	}
	return len(names[h])
}

// Name is the readable name of class v of head h ("wear", "female", ...),
// "unknown" for -1. Joint labels read like "wear/female/young".
func Name(h Head, v int8) string {
	if v == Unknown {
		return "unknown"
	}
	if h == HeadLabel {
		m, g, a := Split(v)
		return Name(HeadMask, m) + "/" + Name(HeadGender, g) + "/" + Name(HeadAgeGroup, a)
	}
	if n := names[h]; int(v) >= 0 && int(v) < len(n) {
		return n[v]
	}
	return strconv.Itoa(int(v))
}

// Parse reads a class of head h written as a number, a class name or a
// common alias (case-insensitive). An empty string, "-1", "unknown" and
// "?" are Unknown.
func Parse(h Head, s string) (int8, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "", "-1", "unknown", "?", "na", "nan":
		return Unknown, nil
	}
	if n, err := strconv.Atoi(t); err == nil {
		if err := Check(h, n); err != nil {
			return 0, err
		}
		return int8(n), nil
	}
	for i, n := range names[h] {
		if t == n {
			return int8(i), nil
		}
	}
	if v, ok := aliases[h][t]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("unknown %s %q (want one of %s)", h, s, strings.Join(names[h], ", "))
}

// MaxAge is the oldest age in years facet accepts, from a table or a data
// set (the oldest people on record reached 122; UTKFace, the data set
// with the oldest faces, stops at 116). An age above it is a broken file
// name or a damaged table, never a person.
const MaxAge = 120

// Check is the one test every label value from outside passes, as tables
// are read (internal/table) and as data sets become rows
// (internal/dataset): v must be a class of head h (0..Size(h)-1) or
// Unknown. The error says what v should have been; the caller adds where
// it was.
func Check(h Head, v int) error {
	if v == Unknown || (v >= 0 && v < Size(h)) {
		return nil
	}
	return fmt.Errorf("%d is not a %s class (want 0..%d, or -1 for unknown)", v, h, Size(h)-1)
}

// CheckAge is Check for an age in years: 0..MaxAge, or Unknown.
func CheckAge(age int) error {
	if age == Unknown || (age >= 0 && age <= MaxAge) {
		return nil
	}
	return fmt.Errorf("%d is not an age in years (want 0..%d, or -1 for unknown)", age, MaxAge)
}

// Join is the 18-class label of three parts, Unknown unless all are known.
func Join(mask, gender, ageGroup int8) int8 {
	if mask < 0 || gender < 0 || ageGroup < 0 || mask > 2 || gender > 1 || ageGroup > 2 {
		return Unknown
	}
	return mask*6 + gender*3 + ageGroup
}

// Split is the inverse of Join; an Unknown label gives three Unknown parts.
func Split(label int8) (mask, gender, ageGroup int8) {
	if label < 0 || label >= NumClasses {
		return Unknown, Unknown, Unknown
	}
	return label / 6, label % 6 / 3, label % 3
}

// Bins are the two age cut points between the three age groups: with
// Bins{30, 60}, ages below 30 are group 0, 30..59 group 1, 60 and over
// group 2. The competition recipe moves the upper cut to 58 because its
// oldest group holds only 60-year-olds.
type Bins [2]int

// DefaultBins are the competition's own age groups.
var DefaultBins = Bins{30, 60}

// ParseBins reads "30,58".
func ParseBins(s string) (Bins, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return Bins{}, fmt.Errorf("age bins %q: want two cut points like 30,60 (three age groups)", s)
	}
	var b Bins
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n <= 0 || n > MaxAge {
			return Bins{}, fmt.Errorf("age bins %q: %q is not an age in years", s, p)
		}
		b[i] = n
	}
	if b[0] >= b[1] {
		return Bins{}, fmt.Errorf("age bins %q: cut points must increase", s)
	}
	return b, nil
}

// String writes the bins as ParseBins reads them.
func (b Bins) String() string { return fmt.Sprintf("%d,%d", b[0], b[1]) }

// Group is the age group of an age in years, Unknown for a negative age.
func (b Bins) Group(age int) int8 {
	switch {
	case age < 0:
		return Unknown
	case age < b[0]:
		return 0
	case age < b[1]:
		return 1
	}
	return 2
}

// GroupName describes age group g under these bins, e.g. "<30", "30-57", ">=58".
func (b Bins) GroupName(g int8) string {
	switch g {
	case 0:
		return fmt.Sprintf("<%d", b[0])
	case 1:
		return fmt.Sprintf("%d-%d", b[0], b[1]-1)
	case 2:
		return fmt.Sprintf(">=%d", b[1])
	}
	return "unknown"
}
