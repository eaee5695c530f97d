package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

//go:embed static
var staticFS embed.FS

// staticFiles are the embedded /static files with a content hash for each, used as a
// version in their URLs so that they can be cached for a year.
type staticFiles struct {
	files map[string][]byte
	types map[string]string
	urls  map[string]string // file name → /static/name?v=hash
}

func mustLoadStatic() staticFiles {
	s := staticFiles{files: map[string][]byte{}, types: map[string]string{}, urls: map[string]string{}}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		s.files[e.Name()] = b
		s.types[e.Name()] = mime.TypeByExtension(path.Ext(e.Name()))
		s.urls[e.Name()] = "/static/" + e.Name() + "?v=" + hex.EncodeToString(sum[:6])
	}
	s.add("alert.wav", "audio/wav", alertSound())
	return s
}

// add adds a file made in code.
func (s staticFiles) add(name, typ string, b []byte) {
	sum := sha256.Sum256(b)
	s.files[name], s.types[name] = b, typ
	s.urls[name] = "/static/" + name + "?v=" + hex.EncodeToString(sum[:6])
}

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, ok := c.static.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", c.static.types[name])
	if r.URL.Query().Get("v") != "" {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Write(b)
}
