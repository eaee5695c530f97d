package sqlstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/faults"
	"csirtlink/internal/store"
)

// TestProbeWriteSeesAFullDisk fills a small tmpfs the database lives on (root only: it
// mounts one), then frees it: the probe must report a full disk, and recover.
func TestProbeWriteSeesAFullDisk(t *testing.T) {
	ctx := t.Context()
	dir := faults.SmallDisk(t, 4<<20)
	db := openSQLite(t, filepath.Join(dir, "node.db"))
	defer db.Close()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := db.ProbeWrite(ctx, now); err != nil {
		t.Fatalf("probe with room on the disk: %v", err)
	}

	filler := filepath.Join(dir, "filler")
	faults.Fill(t, filler, 0)
	err := db.ProbeWrite(ctx, now.Add(time.Second))
	if !errors.Is(err, store.ErrStorageFull) {
		t.Fatalf("probe on a full disk = %v, want ErrStorageFull", err)
	}
	t.Logf("full: %v", err)
	if err := db.CreateUser(ctx, store.User{ID: "x", Name: "x", DisplayName: strings.Repeat("x", 256<<10), Role: "admin"}); err == nil {
		t.Fatal("a write succeeded on the full disk: the test made no fault")
	}

	// Room for the probe's page, but under MinFreeBytes: still full.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	faults.Fill(t, filler, MinFreeBytes/2)
	if err := db.ProbeWrite(ctx, now.Add(2*time.Second)); !errors.Is(err, store.ErrStorageFull) || !strings.Contains(err.Error(), "bytes left") {
		t.Fatalf("probe with %d bytes left = %v, want ErrStorageFull for the free space", MinFreeBytes/2, err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := db.ProbeWrite(ctx, now.Add(3*time.Second)); err != nil {
		t.Fatalf("probe after the disk was freed: %v", err)
	}
	if err := db.CreateUser(ctx, store.User{ID: "y", Name: "y", Role: "admin"}); err != nil {
		t.Fatalf("write after the disk was freed: %v", err)
	}
}
