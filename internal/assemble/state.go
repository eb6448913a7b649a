package assemble

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateFile is the name of the persisted identity, in the data directory.
const StateFile = "assembly.json"

// Status is where a member stands with its ensemble.
type Status string

const (
	StatusNew     Status = "new"     // not in any ensemble yet
	StatusJoining Status = "joining" // started to join Cluster; not known to be added yet
	StatusMember  Status = "member"  // a member of Cluster
	StatusLeft    Status = "left"    // removed from Cluster (paddock leave); its data is stale
)

// State is what a member persists of its identity, next to its data.
type State struct {
	Format   int      `json:"format"`
	ID       int64    `json:"id"`
	IDFrom   IDSource `json:"idFrom"`
	Instance string   `json:"instance"` // random, per data directory: tells incarnations apart
	Status   Status   `json:"status"`
	// Cluster is the ensemble's identity, "<name>/<random hex>", fixed when it was formed;
	// peers check it at every connection.
	Cluster  string    `json:"cluster,omitempty"`
	Discover string    `json:"discover,omitempty"` // the discovery setting it was formed or joined with
	Since    time.Time `json:"since"`              // when Status last changed
	// Members are the ensemble's server.N lines as last seen (ZooKeeper's dynamic config
	// format): a restarting member needs the other members' addresses before it can hear
	// from them.
	Members []string `json:"members,omitempty"`
	// Founders are the members the ensemble was formed with, as its bootstrap decided:
	// announced so that a founder that has not started yet follows the decision.
	Founders []Founder `json:"founders,omitempty"`
}

// ReadState reads dir's state; nil and no error when there is none.
func ReadState(dir string) (*State, error) {
	path := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("assemble: %s: %w", path, err)
	}
	if st.ID < 1 || st.ID > MaxID || st.Instance == "" {
		return nil, fmt.Errorf("assemble: %s: no valid id and instance", path)
	}
	return &st, nil
}

// WriteState replaces dir's state atomically: a temporary file, synced, renamed over the
// old one, and the directory synced.
func WriteState(dir string, st *State) error {
	st.Format = 1
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp := filepath.Join(dir, StateFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, StateFile)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
