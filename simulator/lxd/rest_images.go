package lxd

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/eventsim/eventsim/world"
)

// REST requests that change images and their aliases. An image is
// imported from a unified tarball uploaded as the request body (what
// `lxc image import FILE` sends): its fingerprint is the upload's SHA-256,
// its architecture and properties come from its metadata.yaml. The fake
// keeps none of its bytes. See docs/lxd-server.md.

// imageMetadata is what the fake reads of an image's metadata.yaml.
type imageMetadata struct {
	Architecture string            `yaml:"architecture"`
	CreationDate int64             `yaml:"creation_date"`
	Properties   map[string]string `yaml:"properties"`
}

// readImageMetadata finds metadata.yaml in a gzip-compressed (or plain)
// tarball.
func readImageMetadata(b []byte) (*imageMetadata, error) {
	var r io.Reader = bytes.NewReader(b)
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("metadata.yaml not found in the tarball")
		}
		if err != nil {
			return nil, err
		}
		if strings.TrimPrefix(h.Name, "./") != "metadata.yaml" {
			continue
		}
		var m imageMetadata
		if err := yaml.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil {
			return nil, fmt.Errorf("read metadata.yaml: %w", err)
		}
		return &m, nil
	}
}

// tarballImportTook is how long the operation of a tarball upload runs.
const tarballImportTook = 200 * time.Millisecond

// postImages answers POST /1.0/images with a tarball body: "Downloading
// image", image-created, the operation's metadata naming the fingerprint
// and size (lxc reads them to make the aliases it was asked for).
func (s *Server) postImages(c *call) (*reply, error) {
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	if mt := c.r.Header.Get("Content-Type"); strings.HasPrefix(mt, "application/json") {
		return nil, &apiError{http.StatusNotImplemented, "not implemented: eventsim imports images from an uploaded tarball only"}
	}
	sum := sha256.Sum256(c.body)
	fp := hex.EncodeToString(sum[:])
	meta, err := readImageMetadata(c.body)
	op := s.startAction("image-created", p, nil)
	if err != nil {
		return &reply{op: op, took: tarballImportTook, run: func() error { return fmt.Errorf("Failed to read image metadata: %w", err) }}, nil
	}
	d := &world.Detail{Architecture: meta.Architecture, Config: meta.Properties, Type: "container", Extra: map[string]string{
		"size": strconv.Itoa(len(c.body)), "public": strconv.FormatBool(c.r.Header.Get("X-LXD-public") == "true"),
		"filename": c.r.Header.Get("X-LXD-filename"),
	}}
	if d.Architecture == "x86_64" || d.Architecture == "" {
		d.Architecture = "x86_64"
	}
	// The tarball has arrived with the request; the operation only stores
	// it, which takes a daemon a moment, not the download of image.import.
	return &reply{op: op, took: tarballImportTook, run: func() error {
		exists := false
		s.withWorld(func(w *world.World) { exists = w.Get(world.Key{Kind: "image", Project: p, Path: fp}) != nil })
		if exists {
			return fmt.Errorf("Image with same fingerprint already exists")
		}
		s.lifecycleWith("image-created", map[string]string{"name": fp}, p, map[string]any{"type": "container"}, c.rq, d)
		s.setMetadata(op, map[string]any{"fingerprint": fp, "size": len(c.body)})
		return nil
	}}, nil
}

// deleteImage answers DELETE /1.0/images/FINGERPRINT: "Deleting image",
// image-deleted, and the image's aliases go with it.
func (s *Server) deleteImage(c *call) (*reply, error) {
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	var fp string
	var aliases []string
	s.withWorld(func(w *world.World) {
		if o := s.findImage(p, c.r.PathValue("fingerprint")); o != nil {
			fp = o.Name
			for _, a := range w.List("image-alias", p) {
				if aliasTarget(a) == fp {
					aliases = append(aliases, a.Name)
				}
			}
		}
	})
	if fp == "" {
		return nil, notFound("Image")
	}
	op := s.startAction("image-deleted", p, map[string]string{"name": fp})
	return &reply{op: op, run: func() error {
		for _, a := range aliases {
			s.lifecycle("image-alias-deleted", map[string]string{"name": a}, p, nil, c.rq)
		}
		s.lifecycle("image-deleted", map[string]string{"name": fp}, p, nil, c.rq)
		return nil
	}}, nil
}

// postAliases answers POST /1.0/images/aliases {"name", "target",
// "description"}: image-alias-created, 201 with a Location.
func (s *Server) postAliases(c *call) (*reply, error) {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Target      string `json:"target"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, badRequest("name was not provided")
	}
	var failed error
	var fp string
	s.withWorld(func(w *world.World) {
		if w.Get(world.Key{Kind: "image-alias", Project: p, Path: req.Name}) != nil {
			failed = conflict("Alias '%s' already exists", req.Name)
			return
		}
		if o := s.findImage(p, req.Target); o != nil {
			fp = o.Name
		} else {
			failed = notFound("Image")
		}
	})
	if failed != nil {
		return nil, failed
	}
	s.lifecycleWith("image-alias-created", map[string]string{"name": req.Name}, p, map[string]any{"target": fp}, c.rq,
		&world.Detail{Description: req.Description, Extra: map[string]string{"target": fp}})
	return created(withProject("/1.0/images/aliases/"+url.PathEscape(req.Name), p)), nil
}

// postAlias answers POST /1.0/images/aliases/NAME {"name": NEW}:
// image-alias-renamed.
func (s *Server) postAlias(c *call) (*reply, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if s.existing(world.Key{Kind: "image-alias", Project: p, Path: name}) == nil {
		return nil, notFound("Image alias")
	}
	if s.existing(world.Key{Kind: "image-alias", Project: p, Path: req.Name}) != nil {
		return nil, conflict("Alias '%s' already exists", req.Name)
	}
	s.lifecycle("image-alias-renamed", map[string]string{"name": req.Name}, p, map[string]any{"old_name": name}, c.rq)
	return created(withProject("/1.0/images/aliases/"+url.PathEscape(req.Name), p)), nil
}

// deleteAlias answers DELETE /1.0/images/aliases/NAME: image-alias-deleted.
func (s *Server) deleteAlias(c *call) (*reply, error) {
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if s.existing(world.Key{Kind: "image-alias", Project: p, Path: name}) == nil {
		return nil, notFound("Image alias")
	}
	s.lifecycle("image-alias-deleted", map[string]string{"name": name}, p, nil, c.rq)
	return emptyOK(), nil
}

// postImageSecret answers POST /1.0/images/FINGERPRINT/secret as LXD's
// createTokenResponse does: a token operation ("Image download token",
// class token, may_cancel true, metadata {"secret": …}) that runs until it
// is cancelled (DELETE /1.0/operations/ID), with image-secret-created
// between its Pending and Running events.
func (s *Server) postImageSecret(c *call) (*reply, error) {
	if c.r.PathValue("sub") != "secret" {
		return nil, errNotFound
	}
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	var fp string
	s.withWorld(func(*world.World) {
		if o := s.findImage(p, c.r.PathValue("fingerprint")); o != nil {
			fp = o.Name
		}
	})
	if fp == "" {
		return nil, notFound("Image")
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	op := s.newOperation("token", "Image download token", p, "", map[string][]string{"images": {"/1.0/images/" + fp}},
		map[string]any{"secret": hex.EncodeToString(secret)})
	s.lifecycle("image-secret-created", map[string]string{"name": fp}, p, nil, c.rq)
	s.start(op)
	return &reply{op: op}, nil
}
