package world

import (
	"slices"
	"strings"
)

// Get returns an object, or nil when the stream says it does not exist.
func (w *World) Get(k Key) *Object { return w.objs[k] }

// Exists reports whether an object exists.
func (w *World) Exists(k Key) bool { return w.objs[k] != nil }

// List returns the objects of a kind in a project ("" for every project,
// and for kinds of no project), sorted by project then path.
func (w *World) List(kind, project string) []*Object {
	var out []*Object
	for k, o := range w.objs {
		if k.Kind == kind && (project == "" || k.Project == project) {
			out = append(out, o)
		}
	}
	sortObjects(out)
	return out
}

// Children returns an object's children of a kind, sorted by path.
func (w *World) Children(o *Object, kind string) []*Object {
	var out []*Object
	for k, c := range o.children {
		if k.Kind == kind {
			out = append(out, c)
		}
	}
	sortObjects(out)
	return out
}

// Count returns how many objects of a kind exist in every project.
func (w *World) Count(kind string) int {
	n := 0
	for k := range w.objs {
		if k.Kind == kind {
			n++
		}
	}
	return n
}

func sortObjects(l []*Object) {
	slices.SortFunc(l, func(a, b *Object) int {
		if c := strings.Compare(a.Project, b.Project); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
}

// Instance returns an instance, or nil.
func (w *World) Instance(project, name string) *Object {
	return w.objs[Key{"instance", project, name}]
}

// Project returns a project, or nil.
func (w *World) Project(name string) *Object { return w.objs[Key{"project", "", name}] }

// Projects returns the projects' names, default first then by name.
func (w *World) Projects() []string {
	var out []string
	for k := range w.objs {
		if k.Kind == "project" {
			out = append(out, k.Path)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "default":
			return -1
		case b == "default":
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

// Operation returns an operation still remembered, or nil.
func (w *World) Operation(id string) *Operation {
	w.expire()
	op := w.ops[id]
	if op != nil {
		op.resolve()
	}
	return op
}

// Operations returns the operations remembered, those of one project (and
// those of no project) when project is not "", ordered by id.
func (w *World) Operations(project string) []*Operation {
	w.expire()
	var out []*Operation
	for _, o := range w.ops {
		o.resolve()
		if project == "" || o.Project == "" || o.Project == project {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *Operation) int { return strings.Compare(a.ID, b.ID) })
	return out
}
