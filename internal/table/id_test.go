package table

import "testing"

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{
		"a/b.jpg": true, "csv/home/u/x.jpg": true, "train/000001_female_Asian_45/mask1": true,
		"": false, "../x": false, "a/../../x": false, "/abs": false, "a//b": false, "./a": false,
		"a\\b": false, "a\x00b": false, "a\nb": false, "a/.": false,
	} {
		if err := CheckID(id); (err == nil) != ok {
			t.Errorf("CheckID(%q) = %v, want ok %t", id, err, ok)
		}
	}
}
