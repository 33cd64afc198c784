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

// Near lists the pairs of hashes within maxDist bits of each other,
// skipping rows whose ok is false (ok nil: every row). It compares every
// pair (35,000 rows: 612 million XOR-and-popcounts, about 0.3 s on one
// core, split over the CPUs; BenchmarkNear), which is simpler than
// multi-index hashing and fast enough at the table sizes facet sees.
// Rows with equal hashes are compared once per distinct hash.
func Near(hashes []Hash, ok []bool, maxDist int) []Pair {
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
					if bits.OnesCount64(hi^uint64(h)) <= maxDist {
						found[w] = append(found[w], Pair{rep[i], rep[i+1+k]})
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

// DefaultDistance is the largest Hamming distance at which two crops count
// as duplicates by default. On planted duplicates of real faces
// (TestPlantedDuplicates) distance 5 finds every re-encoded, resized and
// brightened copy but only a third of the slightly cropped ones, and 8
// finds three quarters of those; but false links grow with the square of
// a table's rows: on make real's 20,488 faces distance 8 made 1,049 groups
// (555 with conflicting labels) where the data set's own list knows about
// 730, and joined 117 Asian faces to extra ones, while 5 made 665 groups
// (212 conflicting) and joined 6.
const DefaultDistance = 5

// MaxDistance bounds the distances a command line may ask for: the pairs
// Near lists grow steeply with the distance (at 64 bits every pair of
// rows is one), and so does the memory they take.
const MaxDistance = 16
