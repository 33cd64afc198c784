package dup

import (
	"math/bits"
	"runtime"
	"sync"
)

// UnionFind is a disjoint-set forest over 0..n-1 (union by size, path
// halving).
type UnionFind struct {
	parent, size []int32
}

// NewUnionFind makes n singleton sets.
func NewUnionFind(n int) *UnionFind {
	u := &UnionFind{parent: make([]int32, n), size: make([]int32, n)}
	for i := range u.parent {
		u.parent[i], u.size[i] = int32(i), 1
	}
	return u
}

// Find is the representative of i's set.
func (u *UnionFind) Find(i int) int {
	for int(u.parent[i]) != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = int(u.parent[i])
	}
	return i
}

// Union joins the sets of a and b.
func (u *UnionFind) Union(a, b int) {
	a, b = u.Find(a), u.Find(b)
	if a == b {
		return
	}
	if u.size[a] < u.size[b] {
		a, b = b, a
	}
	u.parent[b] = int32(a)
	u.size[a] += u.size[b]
}

// Pair is two linked rows, A < B.
type Pair struct{ A, B int }

// Near lists the pairs of rows within maxDist bits of each other:
// by Dist when edges (one per row) is given, else by Distance of the
// hashes alone. Rows whose ok is false are skipped (ok nil: every row).
// It compares every pair (35,000 rows: 612 million comparisons, each one
// XOR-and-popcount, or 17 with edges; BenchmarkNear), which is simpler
// than multi-index hashing and fast enough at the table sizes facet sees,
// split over the CPUs. Rows with equal hashes are linked at once and
// compared further as one.
func Near(hashes []Hash, edges []Edges, ok []bool, maxDist int) []Pair {
	// Distinct hashes first: byte-identical copies share one.
	first := map[Hash]int{}
	var distinct []Hash
	var rep []int // rep[k]: the first row with distinct[k]
	var pairs []Pair
	for i, h := range hashes {
		if ok != nil && !ok[i] {
			continue
		}
		if j, seen := first[h]; seen {
			pairs = append(pairs, Pair{j, i})
			continue
		}
		first[h] = i
		distinct = append(distinct, h)
		rep = append(rep, i)
	}
	n := len(distinct)
	var edge []Edges // edge[k]: the edges of rep[k], zero when none
	var reach []int  // reach[k]: the farthest of rep[k]'s edges from its hash
	if edges != nil {
		edge, reach = make([]Edges, n), make([]int, n)
		for k, r := range rep {
			edge[k] = edges[r]
			if edge[k] != (Edges{}) {
				for _, h := range edge[k] {
					reach[k] = max(reach[k], Distance(h, distinct[k]))
				}
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, n/2000))
	found := make([][]Pair, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Worker w takes rows w, w+workers, ...: an even share of the
			// triangle.
			for i := w; i < n; i += workers {
				hi := uint64(distinct[i])
				for k, h := range distinct[i+1:] {
					j := i + 1 + k
					d := bits.OnesCount64(hi ^ uint64(h))
					near := d <= maxDist
					// An edge hash lies within reach of its own hash, so it
					// is at least d - reach from the other (the triangle
					// inequality): most pairs need no look at the edges.
					if !near && edge != nil && d-max(reach[i], reach[j]) <= maxDist {
						near = Dist(distinct[i], &edge[i], h, &edge[j]) <= maxDist
					}
					if near {
						found[w] = append(found[w], Pair{rep[i], rep[j]})
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, f := range found {
		pairs = append(pairs, f...)
	}
	return pairs
}

// Groups links the pairs and returns, for each of n rows, its group: the
// smallest row of its connected component, or -1 when the row is linked
// to no other.
func Groups(n int, pairs []Pair) []int {
	u := NewUnionFind(n)
	for _, p := range pairs {
		u.Union(p.A, p.B)
	}
	smallest := make([]int, n)
	for i := range smallest {
		smallest[i] = -1
	}
	for i := range n {
		r := u.Find(i)
		if smallest[r] < 0 {
			smallest[r] = i // rows are visited in order: the first is the smallest
		}
	}
	out := make([]int, n)
	for i := range n {
		r := u.Find(i)
		if u.size[r] == 1 {
			out[i] = -1
		} else {
			out[i] = smallest[r]
		}
	}
	return out
}

// DefaultDistance is the largest distance (Dist, or Distance without
// edges) at which two crops count as duplicates by default. On planted
// duplicates of real faces (TestPlantedDuplicates, all 2,417 faces) the
// hash with its edges at 4 finds 99.9% of the re-encoded, resized,
// brightened and slightly cropped copies with 6 false links among 2.9
// million pairs of different faces; the hash alone at 4 finds 83% (a
// third of the cropped copies) with 1. False links grow with the square
// of a table's rows, so the distance stays small.
const DefaultDistance = 4

// MaxDistance bounds the distances a command line may ask for: the pairs
// Near lists grow steeply with the distance (at 64 bits every pair of
// rows is one), and so does the memory they take.
const MaxDistance = 16
