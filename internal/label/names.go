package label

// ClassNames are the names of head h's classes for people and charts:
// mask and gender as Name gives them, age groups as their ages under b
// ("<30", "30-59", ">=60") and the 18 classes as the three joined with
// "/" ("wear/male/<30").
func (b Bins) ClassNames(h Head) []string {
	out := make([]string, Size(h))
	for c := range out {
		switch h {
		case HeadAgeGroup:
			out[c] = b.GroupName(int8(c))
		case HeadLabel:
			m, g, a := Split(int8(c))
			out[c] = Name(HeadMask, m) + "/" + Name(HeadGender, g) + "/" + b.GroupName(a)
		default:
			out[c] = Name(h, int8(c))
		}
	}
	return out
}
