package client

import (
	"errors"
	"testing"

	"github.com/paddock/paddock/internal/proto"
)

// TestWireValues pins the public constants to the protocol's values in internal/proto.
func TestWireValues(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		{"PermRead", int64(PermRead), int64(proto.PermRead)},
		{"PermWrite", int64(PermWrite), int64(proto.PermWrite)},
		{"PermCreate", int64(PermCreate), int64(proto.PermCreate)},
		{"PermDelete", int64(PermDelete), int64(proto.PermDelete)},
		{"PermAdmin", int64(PermAdmin), int64(proto.PermAdmin)},
		{"PermAll", int64(PermAll), int64(proto.PermAll)},
		{"ModePersistent", int64(ModePersistent), int64(proto.ModePersistent)},
		{"ModeEphemeral", int64(ModeEphemeral), int64(proto.ModeEphemeral)},
		{"ModePersistentSequential", int64(ModePersistentSequential), int64(proto.ModePersistentSequential)},
		{"ModeEphemeralSequential", int64(ModeEphemeralSequential), int64(proto.ModeEphemeralSequential)},
		{"ModeContainer", int64(ModeContainer), int64(proto.ModeContainer)},
		{"ModePersistentWithTTL", int64(ModePersistentWithTTL), int64(proto.ModePersistentWithTTL)},
		{"ModePersistentSequentialWithTTL", int64(ModePersistentSequentialWithTTL), int64(proto.ModePersistentSequentialWithTTL)},
		{"EventNodeCreated", int64(EventNodeCreated), int64(proto.EventNodeCreated)},
		{"EventNodeDeleted", int64(EventNodeDeleted), int64(proto.EventNodeDeleted)},
		{"EventNodeDataChanged", int64(EventNodeDataChanged), int64(proto.EventNodeDataChanged)},
		{"EventNodeChildrenChanged", int64(EventNodeChildrenChanged), int64(proto.EventNodeChildrenChanged)},
		{"EventDataWatchRemoved", int64(EventDataWatchRemoved), int64(proto.EventDataWatchRemoved)},
		{"EventChildWatchRemoved", int64(EventChildWatchRemoved), int64(proto.EventChildWatchRemoved)},
		{"EventPersistentWatchRemoved", int64(EventPersistentWatchRemoved), int64(proto.EventPersistentWatchRemoved)},
		{"WatcherChildren", int64(WatcherChildren), int64(proto.WatcherChildren)},
		{"WatcherData", int64(WatcherData), int64(proto.WatcherData)},
		{"WatcherAny", int64(WatcherAny), int64(proto.WatcherAny)},
		{"WatcherPersistent", int64(WatcherPersistent), int64(proto.WatcherPersistent)},
		{"WatcherPersistentRecursive", int64(WatcherPersistentRecursive), int64(proto.WatcherPersistentRecursive)},
		{"AddWatchPersistent", int64(AddWatchPersistent), int64(proto.AddWatchPersistent)},
		{"AddWatchPersistentRecursive", int64(AddWatchPersistentRecursive), int64(proto.AddWatchPersistentRecursive)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	for c, e := range codeErrors {
		if e.Code != Code(c) || errorOf(c) != e || CodeOf(&OpError{Err: e}) != Code(c) {
			t.Errorf("code %v maps to %v", c, e)
		}
	}
	if e := errorOf(-999); CodeOf(e) != -999 || !errors.Is(e, &Error{Code: -999}) {
		t.Errorf("unknown code: %v", e)
	}
}
