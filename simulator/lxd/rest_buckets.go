package lxd

import (
	"cmp"
	"net/http"
	"net/url"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/world"
)

// Storage buckets are read from the world: those played bucket events made.
// They cannot be made, changed or deleted through REST (bucketWrite answers
// only the refusals), because the real
// daemons here cannot make one to record (LXD 5.0.2 has no buckets at all,
// Incus 6.0 needs the MinIO client, which Debian does not ship).

// bucketObj is a bucket as GET …/buckets/NAME shows it.
type bucketObj struct {
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
	Name        string            `json:"name"`
	S3URL       string            `json:"s3_url"`
	Location    string            `json:"location"`
	Project     string            `json:"project,omitempty"` // Incus's (projectField)
}

func (s *Server) bucketOf(o *world.Object) any {
	d := detail(o)
	return bucketObj{Config: orEmpty(d.Config), Description: d.Description, Name: o.Name, Location: cmp.Or(o.Location, "none"), Project: s.projectField(o.Project)}
}

// bucketScope checks what a bucket request names, as LXD does: the
// flavour has buckets (LXD 5.0.2 answers its unknown-path 404), the pool
// exists; and returns the project whose buckets the request's project uses
// and the pool.
func (s *Server) bucketScope(c *call) (string, string, error) {
	if s.flavor == catalog.LXD50 {
		return "", "", errNotFound
	}
	p, err := c.project()
	if err != nil {
		return "", "", err
	}
	pool := c.r.PathValue("pool")
	if !s.rest.hasPool(pool) {
		// Recorded from Incus 6.0.4.
		return "", "", &apiError{http.StatusNotFound, "Failed loading storage pool: Storage pool not found"}
	}
	return s.rest.featureProjectLocked(p, "storage.buckets"), pool, nil
}

// getBuckets answers GET /1.0/storage-pools/POOL/buckets: URLs, or objects
// with recursion.
func (s *Server) getBuckets(c *call) (*reply, error) {
	p, pool, err := s.bucketScope(c)
	if err != nil {
		return nil, err
	}
	return s.listUnder(c, "storage-bucket", world.Key{Project: p, Path: pool}, func(o *world.Object) string {
		return withProject("/1.0/storage-pools/"+url.PathEscape(pool)+"/buckets/"+url.PathEscape(o.Name), p)
	}, s.bucketOf), nil
}

// getBucket answers GET /1.0/storage-pools/POOL/buckets/NAME.
func (s *Server) getBucket(c *call) (*reply, error) {
	p, pool, err := s.bucketScope(c)
	if err != nil {
		return nil, err
	}
	return s.oneOf(c, world.Key{Kind: "storage-bucket", Project: p, Path: pool + "/" + c.r.PathValue("name")}, "Storage bucket", s.bucketOf)
}

// bucketWrite answers POST …/buckets and PUT, PATCH and DELETE
// …/buckets/NAME as far as the fake can: what bucketScope refuses (no
// such route on LXD 5.0.2, an unknown pool), and a change or delete of a
// bucket that does not exist, as real Incus 6.0.4 answers them. Making or
// changing a bucket is not built (a real daemon needs MinIO, which no
// daemon here has, to do it): 501.
func (s *Server) bucketWrite(c *call) (*reply, error) {
	p, pool, err := s.bucketScope(c)
	if err != nil {
		return nil, err
	}
	if name := c.r.PathValue("name"); name != "" && s.existing(world.Key{Kind: "storage-bucket", Project: p, Path: pool + "/" + name}) == nil {
		verb := "updating"
		if c.r.Method == http.MethodDelete {
			verb = "deleting"
		}
		return nil, &apiError{http.StatusNotFound, "Failed " + verb + " storage bucket: Storage bucket not found"}
	}
	return nil, errNotImplemented
}
