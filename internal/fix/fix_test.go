package fix

import (
	"os"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

var bins = label.Bins{30, 58}

func persons() []table.Sample {
	var out []table.Sample
	for _, p := range []struct {
		id     string
		gender int8
		age    int
	}{{"000020", label.Female, 50}, {"001498-1", label.Male, 38}} {
		for _, img := range []struct {
			stem string
			mask int8
		}{{"mask1", label.Wear}, {"incorrect_mask", label.Incorrect}, {"normal", label.NoMask}} {
			s := table.NewSample(p.id+"_x/"+img.stem, "/x.jpg", p.id, "competition", "train")
			s.SetLabels(img.mask, p.gender, p.age, bins)
			out = append(out, s)
		}
	}
	return out
}

func parse(t *testing.T, text string) []Correction {
	t.Helper()
	c, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestApply(t *testing.T) {
	samples := persons()
	c := parse(t, "# comment\nby,key,field,value,note\n"+
		"person,000020,mask,swap,incorrect and normal swapped\n"+
		"person,001498-1,gender,swap,\n"+
		"id,001498-1_x/mask1,age,61,older than it says\n")
	changes, err := Apply(samples, c, bins)
	if err != nil {
		t.Fatal(err)
	}
	// 2 mask swaps (mask1 stays wear), 3 gender swaps, 1 age change.
	if len(changes) != 6 {
		t.Fatalf("%d changes, want 6: %v", len(changes), changes)
	}
	want := []struct {
		mask, gender, age int8
	}{{0, 1, 1}, {2, 1, 1}, {1, 1, 1}, {0, 1, 2}, {1, 1, 1}, {2, 1, 1}}
	for i, s := range samples {
		w := want[i]
		if s.Mask != w.mask || s.Gender != w.gender || s.AgeGroup != w.age || s.Label != label.Join(w.mask, w.gender, w.age) {
			t.Errorf("%s = mask %d gender %d age group %d label %d, want %v", s.ID, s.Mask, s.Gender, s.AgeGroup, s.Label, w)
		}
	}
	if samples[3].Age != 61 {
		t.Errorf("age = %d, want 61", samples[3].Age)
	}
	if got := changes[0].String(); got != "000020_x/incorrect_mask: mask incorrect -> none (incorrect and normal swapped)" {
		t.Errorf("change reads %q", got)
	}
}

func TestApplyRefusesAndChangesNothing(t *testing.T) {
	for name, text := range map[string]string{
		"unknown id":     "by,key,field,value\nperson,000020,gender,male\nid,nobody/mask1,mask,wear\n",
		"unknown person": "by,key,field,value\nperson,999999,gender,male\n",
		"bad value":      "by,key,field,value\nperson,000020,gender,male\nperson,000020,mask,helmet\n",
		"bad age":        "by,key,field,value\nid,000020_x/mask1,age,old\n",
		"age 125":        "by,key,field,value\nid,000020_x/mask1,age,125\n",
		"age -1":         "by,key,field,value\nid,000020_x/mask1,age,-1\n",
	} {
		t.Run(name, func(t *testing.T) {
			samples := persons()
			before := append([]table.Sample(nil), samples...)
			if _, err := Apply(samples, parse(t, text), bins); err == nil {
				t.Fatal("applied")
			}
			for i := range samples {
				if samples[i] != before[i] {
					t.Fatalf("a failed Apply changed %s", samples[i].ID)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for name, text := range map[string]string{
		"empty":       "",
		"bad header":  "id,field,value\n",
		"bad by":      "by,key,field,value\nfolder,x,mask,wear\n",
		"bad field":   "by,key,field,value\nid,x,race,Asian\n",
		"short line":  "by,key,field,value\nid,x,mask\n",
		"empty key":   "by,key,field,value\nid,,mask,wear\n",
		"empty value": "by,key,field,value\nid,x,mask,\n",
	} {
		if _, err := Parse(strings.NewReader(text)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// The shipped competition corrections file must parse.
func TestShippedCorrections(t *testing.T) {
	f, err := os.Open("../../corrections/competition.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) < 10 {
		t.Errorf("%d corrections, want the 13 public reports", len(c))
	}
}

// A note with an unquoted comma stays whole when it is the last column;
// columns named after the note (a suspects list) are for the reader only.
func TestNoteColumns(t *testing.T) {
	c := parse(t, "by,key,field,value,note\nperson,000020,gender,male,looks male,short hair\n")
	if c[0].Note != "looks male,short hair" {
		t.Errorf("last-column note %q", c[0].Note)
	}
	c = parse(t, "by,key,field,value,note,given,predicted,confidence\nperson,000020,gender,male,checked,female,male,0.97\n")
	if c[0].Note != "checked" || c[0].Value != "male" {
		t.Errorf("note %q value %q with extra columns", c[0].Note, c[0].Value)
	}
}
