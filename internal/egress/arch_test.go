package egress

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The README promises that one decision governs everything that leaves a node. These
// tests read the module's code and fail when a change routes around it.

// goFile is one parsed file of the module.
type goFile struct {
	path string // slash-separated, relative to the module root
	test bool
	f    *ast.File
	fset *token.FileSet
}

func moduleFiles(t *testing.T) []goFile {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var out []goFile
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, goFile{path: filepath.ToSlash(rel), test: strings.HasSuffix(path, "_test.go"), f: f, fset: fset})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("found only %d Go files under %s; the scan is not looking at the module", len(out), root)
	}
	return out
}

// importName is the name a file uses for the package at path, or "" if it does not
// import it.
func importName(f *ast.File, path string) string {
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		if p != path {
			continue
		}
		if im.Name != nil {
			return im.Name.Name
		}
		return path[strings.LastIndex(path, "/")+1:]
	}
	return ""
}

// isSel reports whether e is pkg.name.
func isSel(e ast.Expr, pkg, name string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok || s.Sel.Name != name {
		return false
	}
	id, ok := s.X.(*ast.Ident)
	return ok && pkg != "" && id.Name == pkg
}

// TestOnlyEgressAppliesTheTLPRule: tlp.MayShare is called by egress.Decide and by the
// tlp package's own tests, and by nothing else.
func TestOnlyEgressAppliesTheTLPRule(t *testing.T) {
	uses := 0
	for _, gf := range moduleFiles(t) {
		dir := gf.path[:strings.LastIndex(gf.path, "/")+1]
		allowed := dir == "internal/egress/" || dir == "internal/tlp/" && gf.test
		name := importName(gf.f, "csirtlink/internal/tlp")
		ast.Inspect(gf.f, func(n ast.Node) bool {
			var hit bool
			switch x := n.(type) {
			case *ast.SelectorExpr:
				hit = isSel(x, name, "MayShare")
			case *ast.Ident:
				// Inside package tlp the rule is called unqualified.
				hit = dir == "internal/tlp/" && x.Name == "MayShare" && gf.f.Name.Name == "tlp"
			}
			if !hit {
				return true
			}
			if dir == "internal/egress/" {
				uses++
			}
			if !allowed && !isDecl(gf.f, n) {
				t.Errorf("%s: uses tlp.MayShare; ask egress.Decide instead", gf.fset.Position(n.Pos()))
			}
			return true
		})
	}
	if uses == 0 {
		t.Error("egress never calls tlp.MayShare; the scan is broken or the rule moved")
	}
}

// isDecl reports whether n is the name in MayShare's own declaration.
func isDecl(f *ast.File, n ast.Node) bool {
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name == n {
			return true
		}
	}
	return false
}

// TestEverySendPathAsksEgress: the ways out are the outbox (an envelope for a peer)
// and notify's mail and webhooks. A function that writes an outbox item must call
// egress.Decide itself; every notify.Mail built outside notify must carry an Egress
// decision (notify refuses to send one without); webhooks take a decision by their
// signature. Decisions cannot be made outside egress (their fields are unexported), so
// a decision present means egress.Decide was asked.
func TestEverySendPathAsksEgress(t *testing.T) {
	outbox, mails := 0, 0
	for _, gf := range moduleFiles(t) {
		// storetest is the store's test suite, in non-test files so every dialect can run it.
		if gf.test || strings.HasPrefix(gf.path, "internal/storetest/") {
			continue
		}
		storePkg := importName(gf.f, "csirtlink/internal/store")
		notifyPkg := importName(gf.f, "csirtlink/internal/notify")
		egressPkg := importName(gf.f, "csirtlink/internal/egress")
		for _, d := range gf.f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			decides := false
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok && isSel(c.Fun, egressPkg, "Decide") {
					decides = true
				}
				return true
			})
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				lit, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				switch {
				case isSel(lit.Type, storePkg, "OutboxItem"):
					outbox++
					if !decides {
						t.Errorf("%s: %s writes to the outbox without calling egress.Decide", gf.fset.Position(lit.Pos()), fd.Name.Name)
					}
				case isSel(lit.Type, notifyPkg, "Mail"):
					mails++
					if !hasField(lit, "Egress") {
						t.Errorf("%s: %s builds a notify.Mail without its Egress decision", gf.fset.Position(lit.Pos()), fd.Name.Name)
					}
				}
				return true
			})
		}
	}
	// The scan must see the send paths it guards: federation.Enqueue's outbox write and
	// the hotline's two mails (escalation and fallback).
	if outbox == 0 || mails < 2 {
		t.Errorf("saw %d outbox writes and %d mails; the scan no longer finds the send paths", outbox, mails)
	}
}

func hasField(lit *ast.CompositeLit, name string) bool {
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == name {
				return true
			}
		}
	}
	return false
}
