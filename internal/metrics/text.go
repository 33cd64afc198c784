package metrics

import (
	"fmt"
	"strings"
)

// Text lays the report out as scikit-learn's classification_report does
// with digits decimals: a line per class (its name, precision, recall,
// F1, support), then accuracy and the macro and weighted averages. With
// no row it is one line saying so.
func (h Head) Text(digits int) string {
	if h.N == 0 {
		return "no row with a known label\n"
	}
	width := max(len("weighted avg"), digits)
	for _, c := range h.Classes {
		width = max(width, len(h.name(c)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support")
	row := func(name string, p, r, f float64, n int) {
		fmt.Fprintf(&b, "%*s  %9.*f %9.*f %9.*f %9d\n", width, name, digits, p, digits, r, digits, f, n)
	}
	for _, c := range h.Classes {
		row(h.name(c), c.Precision, c.Recall, c.F1, c.Support)
	}
	fmt.Fprintf(&b, "\n%*s  %9s %9s %9.*f %9d\n", width, "accuracy", "", "", digits, h.Acc, h.N)
	row("macro avg", h.Macro.Precision, h.Macro.Recall, h.Macro.F1, h.Macro.Support)
	row("weighted avg", h.Weighted.Precision, h.Weighted.Recall, h.Weighted.F1, h.Weighted.Support)
	return b.String()
}

func (h Head) name(c Class) string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprint(c.Class)
}
