// Package fix applies label corrections to samples: a CSV that a person
// wrote (or checked) after finding label errors, one change per line, by
// sample id or by person.
//
// The file reads:
//
//	by,key,field,value,note
//	person,001498-1,gender,swap,gender swapped (public report)
//	person,000020,mask,swap,incorrect_mask and normal swapped
//	id,000123_male_Asian_30/mask2,age,34,age from a second look
//
// by is id or person; field is mask, gender, age or age_group; value is a
// class name or number, or swap (gender: male and female; mask: incorrect
// and none, the mix-up the competition data has). Lines starting with #
// are comments. A key that matches no sample is an error, so a typo never
// passes unnoticed.
package fix

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// Correction is one line of a corrections file.
type Correction struct {
	Line  int
	By    string // "id" or "person"
	Key   string
	Field string // mask, gender, age, age_group
	Value string
	Note  string
}

// Change is one label change made to one sample.
type Change struct {
	ID, Field, From, To, Note string
}

func (c Change) String() string {
	s := fmt.Sprintf("%s: %s %s -> %s", c.ID, c.Field, c.From, c.To)
	if c.Note != "" {
		s += " (" + c.Note + ")"
	}
	return s
}

var fields = map[string]bool{"mask": true, "gender": true, "age": true, "age_group": true}

// Parse reads a corrections file.
func Parse(r io.Reader) ([]Correction, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("corrections file is empty")
	}
	if err != nil {
		return nil, err
	}
	want := []string{"by", "key", "field", "value"}
	if len(head) < len(want) {
		return nil, fmt.Errorf("corrections header %q: want by,key,field,value[,note]", strings.Join(head, ","))
	}
	for i, w := range want {
		if strings.TrimSpace(strings.ToLower(head[i])) != w {
			return nil, fmt.Errorf("corrections header %q: want by,key,field,value[,note]", strings.Join(head, ","))
		}
	}
	var out []Correction
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < 4 {
			return nil, fmt.Errorf("corrections line %d: want by,key,field,value[,note]", line)
		}
		c := Correction{Line: line, By: strings.TrimSpace(rec[0]), Key: strings.TrimSpace(rec[1]),
			Field: strings.TrimSpace(rec[2]), Value: strings.TrimSpace(rec[3])}
		switch {
		case len(rec) > 4 && len(head) > 5:
			// more named columns after the note (facet-merge suspects writes
			// given, predicted, confidence...): for the reader, not for us
			c.Note = strings.TrimSpace(rec[4])
		case len(rec) > 4:
			// the note is the last column: an unquoted comma stays in it
			c.Note = strings.TrimSpace(strings.Join(rec[4:], ","))
		}
		if c.By != "id" && c.By != "person" {
			return nil, fmt.Errorf("corrections line %d: by %q is not id or person", line, c.By)
		}
		if c.Key == "" {
			return nil, fmt.Errorf("corrections line %d: empty key", line)
		}
		if !fields[c.Field] {
			return nil, fmt.Errorf("corrections line %d: field %q is not mask, gender, age or age_group", line, c.Field)
		}
		if c.Value == "" {
			return nil, fmt.Errorf("corrections line %d: empty value", line)
		}
		out = append(out, c)
	}
}

// Apply makes the corrections on samples in place and returns every change.
// Nothing is changed when any correction fails (unknown key, bad value).
func Apply(samples []table.Sample, corrections []Correction, bins label.Bins) ([]Change, error) {
	byID := map[string][]int{}
	byPerson := map[string][]int{}
	for i, s := range samples {
		byID[s.ID] = append(byID[s.ID], i)
		byPerson[s.Person] = append(byPerson[s.Person], i)
	}
	work := make(map[int]table.Sample)
	get := func(i int) table.Sample {
		if s, ok := work[i]; ok {
			return s
		}
		return samples[i]
	}
	var changes []Change
	for _, c := range corrections {
		rows := byID[c.Key]
		if c.By == "person" {
			rows = byPerson[c.Key]
		}
		if len(rows) == 0 {
			return nil, fmt.Errorf("corrections line %d: no sample has %s %q", c.Line, c.By, c.Key)
		}
		for _, i := range rows {
			s := get(i)
			ch, err := apply(&s, c, bins)
			if err != nil {
				return nil, fmt.Errorf("corrections line %d: %s: %w", c.Line, s.ID, err)
			}
			if ch.From != ch.To {
				changes = append(changes, ch)
			}
			work[i] = s
		}
	}
	for i, s := range work {
		samples[i] = s
	}
	return changes, nil
}

func apply(s *table.Sample, c Correction, bins label.Bins) (Change, error) {
	ch := Change{ID: s.ID, Field: c.Field, Note: c.Note}
	switch c.Field {
	case "age":
		ch.From = strconv.Itoa(int(s.Age))
		age, err := strconv.Atoi(c.Value)
		if err != nil {
			return ch, fmt.Errorf("age %q is not a number of years", c.Value)
		}
		if err := label.CheckAge(age); err != nil || age == label.Unknown {
			return ch, fmt.Errorf("age %q is not a number of years (want 0..%d)", c.Value, label.MaxAge)
		}
		s.SetAge(age, bins)
		ch.To = c.Value
	default:
		h := label.Head(c.Field)
		part := map[label.Head]*int8{label.HeadMask: &s.Mask, label.HeadGender: &s.Gender, label.HeadAgeGroup: &s.AgeGroup}[h]
		ch.From = label.Name(h, *part)
		v, err := value(h, *part, c.Value)
		if err != nil {
			return ch, err
		}
		*part = v
		ch.To = label.Name(h, v)
		if h == label.HeadAgeGroup && s.Age >= 0 && bins.Group(int(s.Age)) != v {
			s.Age = label.Unknown // the age no longer agrees with its group
		}
	}
	s.Relabel()
	return ch, nil
}

// value is the new value of a label part: a class, or swap.
func value(h label.Head, cur int8, v string) (int8, error) {
	if strings.ToLower(v) != "swap" {
		n, err := label.Parse(h, v)
		if err == nil && n == label.Unknown {
			return 0, fmt.Errorf("%s cannot be set to unknown", h)
		}
		return n, err
	}
	switch {
	case h == label.HeadGender && cur != label.Unknown:
		return 1 - cur, nil
	case h == label.HeadMask && cur == label.Incorrect:
		return label.NoMask, nil
	case h == label.HeadMask && cur == label.NoMask:
		return label.Incorrect, nil
	case h == label.HeadMask && cur == label.Wear:
		return cur, nil // swap exchanges incorrect and none; worn masks stay
	}
	return 0, fmt.Errorf("cannot swap %s %s", h, label.Name(h, cur))
}
