package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/paddock/paddock/client"
)

// Connect to an ensemble (here one test server; normally "zk1:2181,zk2:2181,zk3:2181"), create
// a node, watch it, change it, and update two nodes at once.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, servers, client.Options{SessionTimeout: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	path, err := c.Create(ctx, "/example", []byte("hello"), client.ModePersistent, client.WorldACL(client.PermAll))
	if err != nil {
		log.Fatal(err)
	}
	data, stat, changed, err := c.GetDataW(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s = %s (version %d)\n", path, data, stat.Version)

	if _, err := c.SetData(ctx, path, []byte("world"), stat.Version); err != nil {
		log.Fatal(err)
	}
	ev := <-changed
	fmt.Println("event:", ev.Type, ev.Path)

	_, err = c.SetData(ctx, path, []byte("stale"), stat.Version)
	fmt.Println("stale version:", errors.Is(err, client.ErrBadVersion))

	// All or nothing: the check fails, so the child is not created either.
	_, err = c.Multi(ctx,
		client.CreateOp(path+"/child", nil, client.ModeEphemeral, nil),
		client.CheckOp(path, stat.Version),
	)
	var me *client.MultiError
	if errors.As(err, &me) {
		fmt.Println("multi failed at op", me.Index, "with", client.CodeOf(err))
	}
	ok, _, _ := c.Exists(ctx, path+"/child")
	fmt.Println("child exists:", ok)
	// Output:
	// /example = hello (version 0)
	// event: NodeDataChanged /example
	// stale version: true
	// multi failed at op 1 with BADVERSION
	// child exists: false
}

// A persistent recursive watch reports every change below a node until it is removed.
func ExampleClient_AddWatch() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, servers, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	w, err := c.AddWatch(ctx, "/services", client.AddWatchPersistentRecursive)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []string{"/services", "/services/db", "/services/db/primary"} {
		if _, err := c.Create(ctx, p, nil, client.ModePersistent, nil); err != nil {
			log.Fatal(err)
		}
	}
	for range 3 {
		ev := <-w.Events()
		fmt.Println(ev.Type, ev.Path)
	}
	if err := w.Remove(ctx); err != nil {
		log.Fatal(err)
	}
	for ev := range w.Events() { // the channel closes after the removal event
		fmt.Println(ev.Type, ev.Path)
	}
	// Output:
	// NodeCreated /services
	// NodeCreated /services/db
	// NodeCreated /services/db/primary
	// PersistentWatchRemoved /services
}
