package label

import (
	"strings"
	"testing"
)

func TestJoinSplitRoundTrip(t *testing.T) {
	seen := map[int8]bool{}
	for m := int8(0); m < 3; m++ {
		for g := int8(0); g < 2; g++ {
			for a := int8(0); a < 3; a++ {
				l := Join(m, g, a)
				if l < 0 || l >= NumClasses || seen[l] {
					t.Fatalf("Join(%d,%d,%d) = %d: out of range or repeated", m, g, a, l)
				}
				seen[l] = true
				if m2, g2, a2 := Split(l); m2 != m || g2 != g || a2 != a {
					t.Errorf("Split(%d) = %d,%d,%d; want %d,%d,%d", l, m2, g2, a2, m, g, a)
				}
			}
		}
	}
	if len(seen) != NumClasses {
		t.Fatalf("%d distinct labels, want %d", len(seen), NumClasses)
	}
	// The competition's own numbering: class = mask*6 + gender*3 + age.
	if Join(Incorrect, Female, 2) != 11 || Join(NoMask, Male, 0) != 12 {
		t.Error("label numbering differs from the competition's")
	}
}

func TestUnknownParts(t *testing.T) {
	for _, c := range [][3]int8{{-1, 0, 0}, {0, -1, 0}, {0, 0, -1}, {3, 0, 0}, {0, 2, 0}} {
		if l := Join(c[0], c[1], c[2]); l != Unknown {
			t.Errorf("Join(%v) = %d, want Unknown", c, l)
		}
	}
	if m, g, a := Split(Unknown); m != Unknown || g != Unknown || a != Unknown {
		t.Error("Split(Unknown) has known parts")
	}
	if m, _, _ := Split(18); m != Unknown {
		t.Error("Split(18) is not unknown")
	}
}

func TestBins(t *testing.T) {
	b, err := ParseBins("30,58")
	if err != nil {
		t.Fatal(err)
	}
	for age, want := range map[int]int8{-1: Unknown, 0: 0, 29: 0, 30: 1, 57: 1, 58: 2, 59: 2, 60: 2, 100: 2} {
		if got := b.Group(age); got != want {
			t.Errorf("bins 30,58: Group(%d) = %d, want %d", age, got, want)
		}
	}
	if DefaultBins.Group(58) != 1 || DefaultBins.Group(60) != 2 {
		t.Error("default bins are not the competition's 30,60")
	}
	if b.String() != "30,58" || b.GroupName(1) != "30-57" || b.GroupName(2) != ">=58" {
		t.Errorf("bins print as %q, %q, %q", b, b.GroupName(1), b.GroupName(2))
	}
	for _, bad := range []string{"", "30", "30,60,90", "60,30", "30,30", "a,60", "0,10", "-5,10"} {
		if _, err := ParseBins(bad); err == nil {
			t.Errorf("ParseBins(%q) accepted", bad)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		head Head
		in   string
		want int8
	}{
		{HeadMask, "wear", Wear}, {HeadMask, "Incorrect", Incorrect}, {HeadMask, "none", NoMask},
		{HeadMask, "without_mask", NoMask}, {HeadMask, "mask_weared_incorrect", Incorrect}, {HeadMask, "with_mask", Wear},
		{HeadMask, "2", NoMask}, {HeadMask, "", Unknown}, {HeadMask, "-1", Unknown},
		{HeadGender, "female", Female}, {HeadGender, "M", Male}, {HeadGender, "1", Female},
		{HeadAgeGroup, "old", 2}, {HeadAgeGroup, "0", 0},
		{HeadLabel, "17", 17},
	} {
		got, err := Parse(tc.head, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%s, %q) = %d, %v; want %d", tc.head, tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		head Head
		in   string
	}{{HeadMask, "3"}, {HeadMask, "helmet"}, {HeadGender, "2"}, {HeadLabel, "18"}, {HeadAgeGroup, "-2"}} {
		if _, err := Parse(tc.head, tc.in); err == nil {
			t.Errorf("Parse(%s, %q) accepted", tc.head, tc.in)
		}
	}
	if n := Name(HeadLabel, 11); n != "incorrect/female/old" {
		t.Errorf("Name(label, 11) = %q", n)
	}
	if !strings.Contains(Name(HeadMask, Unknown), "unknown") {
		t.Error("unknown has no name")
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		head Head
		v    int
		ok   bool
	}{
		{HeadMask, -1, true}, {HeadMask, 0, true}, {HeadMask, 2, true}, {HeadMask, 3, false}, {HeadMask, 7, false}, {HeadMask, -2, false},
		{HeadGender, 1, true}, {HeadGender, 2, false}, {HeadGender, 3, false},
		{HeadAgeGroup, 2, true}, {HeadAgeGroup, 3, false},
		{HeadLabel, 17, true}, {HeadLabel, 18, false}, {HeadLabel, 50, false}, {HeadLabel, -128, false},
	} {
		err := Check(tc.head, tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%s, %d) = %v, want ok %t", tc.head, tc.v, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "or -1 for unknown") {
			t.Errorf("Check(%s, %d): %q does not give the range", tc.head, tc.v, err)
		}
	}
	for age, ok := range map[int]bool{-1: true, 0: true, 45: true, MaxAge: true, MaxAge + 1: false, 200: false, 999: false, -5: false} {
		if err := CheckAge(age); (err == nil) != ok {
			t.Errorf("CheckAge(%d) = %v, want ok %t", age, err, ok)
		}
	}
}
