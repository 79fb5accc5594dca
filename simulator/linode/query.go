package linode

import (
	"slices"
	"sort"
	"strings"
)

// pageResult is one page of a list: positions in the store, in order.
type pageResult struct {
	pos     []uint32
	results int
}

// list runs a filter over the events created at or after cutoff (Unix
// seconds) and returns the page asked for. st must not change until the
// positions have been read: s.mu must be held (read).
//
// The plan: id and created conditions at the top level become a range of
// positions found by binary search (created only while it is non-decreasing
// in id order, which the engine guarantees and the store tracks); then the
// smallest index among top-level equalities on action and entity.type
// supplies the candidates; anything left is checked per candidate. Ordering
// by id or by created walks the candidates forwards or backwards, so only
// other orders sort.
func (st *store) list(f *filter, cutoff int64, page, size int) pageResult {
	lo, hi := 0, len(st.ents)
	var rest []*cond
	window := &cond{op: opGte, field: fieldCreated, i: cutoff}
	mono := st.monotone()
	if mono {
		lo, hi = st.narrow(window, lo, hi)
	} else {
		rest = append(rest, window)
	}
	var drivers []*cond
	for _, c := range f.conds {
		switch {
		case c.field == fieldID && c.op <= opLte && c.op != opNeq,
			c.field == fieldCreated && mono && c.op <= opLte && c.op != opNeq:
			lo, hi = st.narrow(c, lo, hi)
		case (c.field == fieldAction || c.field == fieldEntityType) && c.op == opEq:
			drivers = append(drivers, c)
		default:
			rest = append(rest, c)
		}
	}
	if lo >= hi {
		return pageResult{}
	}

	// Candidates: the range, or the smallest index list within it. The
	// chosen equality is exact; the other equalities are checked per event.
	var cand []uint32 // used when useList; else every position in [lo, hi)
	useList, chosen := false, -1
	for i, c := range drivers {
		var l []uint32
		if id, ok := st.strID[c.s]; ok {
			if c.field == fieldAction {
				l = st.byAction[id]
			} else {
				l = st.byType[id]
			}
		}
		a, _ := slices.BinarySearch(l, uint32(lo))
		b, _ := slices.BinarySearch(l, uint32(hi))
		if l = l[a:b]; !useList || len(l) < len(cand) {
			cand, useList, chosen = l, true, i
		}
	}
	for i, c := range drivers {
		if i != chosen {
			rest = append(rest, c)
		}
	}
	for _, c := range rest {
		c.compile(st)
	}
	n := hi - lo
	if useList {
		n = len(cand)
	}
	at := func(k int) uint32 {
		if useList {
			return cand[k]
		}
		return uint32(lo + k)
	}
	match := func(p uint32) bool {
		e := &st.ents[p]
		for _, c := range rest {
			if !c.match(st, e) {
				return false
			}
		}
		return true
	}
	skip := (page - 1) * size // the caller keeps this from overflowing

	// Without +order_by the order is by id, newest first unless +order
	// says otherwise; with +order_by it is ascending unless +order says.
	order, desc := f.orderBy, f.desc
	if order == fieldNone {
		order = fieldID
		desc = desc || !f.order
	}
	if order == fieldID || order == fieldCreated && mono {
		// Walk in order; ties on created are broken by id in the same
		// direction, which id order already is.
		k, step := 0, 1
		if desc {
			k, step = n-1, -1
		}
		if len(rest) == 0 {
			out := pageResult{results: n}
			for i := skip; i < n && i < skip+size; i++ {
				out.pos = append(out.pos, at(k+step*i))
			}
			return out
		}
		var out pageResult
		for i := 0; i < n; i, k = i+1, k+step {
			p := at(k)
			if !match(p) {
				continue
			}
			if out.results >= skip && out.results < skip+size {
				out.pos = append(out.pos, p)
			}
			out.results++
		}
		return out
	}

	all := make([]uint32, 0, min(n, 1<<16))
	for i := range n {
		if p := at(i); match(p) {
			all = append(all, p)
		}
	}
	cmp := st.comparer(order)
	sort.Slice(all, func(i, j int) bool {
		a, b := &st.ents[all[i]], &st.ents[all[j]]
		c := cmp(a, b)
		if c == 0 {
			c = cmpInt(a.id, b.id)
		}
		if desc {
			return c > 0
		}
		return c < 0
	})
	out := pageResult{results: len(all)}
	if skip < len(all) {
		out.pos = all[skip:min(len(all), skip+size)]
	}
	return out
}

// narrow shrinks [lo, hi) to the positions satisfying an id or created
// condition; for created the store must be monotone.
func (st *store) narrow(c *cond, lo, hi int) (int, int) {
	key := func(i int) int64 { return st.ents[i].id }
	if c.field == fieldCreated {
		key = func(i int) int64 { return st.ents[i].created }
	}
	// first returns the first position in [lo, hi) whose key is >= v (or > v).
	first := func(v int64, strict bool) int {
		return lo + sort.Search(hi-lo, func(i int) bool {
			k := key(lo + i)
			if strict {
				return k > v
			}
			return k >= v
		})
	}
	switch c.op {
	case opEq:
		return first(c.i, false), first(c.i, true)
	case opGt:
		return first(c.i, true), hi
	case opGte:
		return first(c.i, false), hi
	case opLt:
		return lo, first(c.i, false)
	case opLte:
		return lo, first(c.i, true)
	}
	return lo, hi
}

// comparer orders two entries by a field.
func (st *store) comparer(f field) func(a, b *entry) int {
	switch f {
	case fieldCreated:
		return func(a, b *entry) int { return cmpInt(a.created, b.created) }
	case fieldAction:
		return func(a, b *entry) int { return strings.Compare(st.strs[a.action], st.strs[b.action]) }
	case fieldEntityType:
		return func(a, b *entry) int { return strings.Compare(st.strs[a.etype], st.strs[b.etype]) }
	case fieldRead:
		return func(a, b *entry) int {
			x, y := a.read(), b.read()
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	case fieldEntityID:
		// null, then integers, then names, then anything else.
		return func(a, b *entry) int {
			if a.ekind != b.ekind {
				return cmpInt(int64(rankKind(a.ekind)), int64(rankKind(b.ekind)))
			}
			switch a.ekind {
			case kindInt:
				return cmpInt(a.entityID, b.entityID)
			case kindName:
				return strings.Compare(st.names[a.entityID], st.names[b.entityID])
			}
			return 0
		}
	}
	return func(a, b *entry) int { return cmpInt(a.id, b.id) }
}

func rankKind(k uint8) int {
	switch k {
	case kindNull:
		return 0
	case kindInt:
		return 1
	case kindName:
		return 2
	}
	return 3
}
