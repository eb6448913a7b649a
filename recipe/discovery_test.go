package recipe_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/paddock/paddock/client"
	"github.com/paddock/paddock/recipe"
	"github.com/paddock/paddock/tests/harness"
)

func TestServiceInstanceJSON(t *testing.T) {
	port := 8080
	spec, err := recipe.ParseURISpec("{scheme}://{address}:{ port }/x")
	must(t, err)
	inst := recipe.ServiceInstance{
		Name: "svc", ID: "id-1", Address: "10.0.0.1", Port: &port,
		Payload: json.RawMessage(`"hello"`), RegistrationTimeUTC: 1700000000123,
		ServiceType: recipe.ServiceDynamic, URISpec: spec, Enabled: true,
	}
	const want = `{"name":"svc","id":"id-1","address":"10.0.0.1","port":8080,"sslPort":null,"payload":"hello","registrationTimeUTC":1700000000123,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true},{"value":"/x","variable":false}]}}`
	if got := string(inst.MarshalCurator(false)); got != want {
		t.Errorf("MarshalCurator(false) =\n%s\nwant\n%s", got, want)
	}
	if got := string(inst.MarshalCurator(true)); got != want[:len(want)-1]+`,"enabled":true}` {
		t.Errorf("MarshalCurator(true) = %s", got)
	}
	if got := spec.Build(&inst, nil); got != "http://10.0.0.1:8080/x" {
		t.Errorf("Build = %q", got)
	}
	back, err := recipe.UnmarshalCurator([]byte(want))
	must(t, err)
	if string(back.MarshalCurator(false)) != want || !back.Enabled {
		t.Errorf("round trip: %+v", back)
	}
	// Jackson's escapes, and a disabled instance with fields missing.
	odd := recipe.ServiceInstance{Name: "a\"b\\c\n\x01é\u2028<", ID: "x", ServiceType: recipe.ServiceStatic}
	if got := string(odd.MarshalCurator(true)); got != `{"name":"a\"b\\c\n\u0001é`+"\u2028"+`<","id":"x","address":null,"port":null,"sslPort":null,"payload":null,"registrationTimeUTC":0,"serviceType":"STATIC","uriSpec":null,"enabled":false}` {
		t.Errorf("escapes: %s", got)
	}
	d, err := recipe.UnmarshalCurator([]byte(`{"name":"n","id":"i","enabled":false,"extra":1}`))
	if err != nil || d.Enabled || d.ServiceType != recipe.ServiceDynamic || d.Port != nil {
		t.Errorf("UnmarshalCurator of a sparse instance = %+v %v", d, err)
	}
	if _, err := recipe.UnmarshalCurator([]byte("{")); err == nil {
		t.Error("UnmarshalCurator accepted bad JSON")
	}
	for _, bad := range []string{"{a", "a}", "{{a}}"} {
		if _, err := recipe.ParseURISpec(bad); err == nil {
			t.Errorf("ParseURISpec(%q) accepted", bad)
		}
	}
}

func testDiscovery(t *testing.T, e *env) {
	ps, through := proxies(t, e.addr)
	s1 := session(t, through, recipe.SessionOptions{Client: client.Options{SessionTimeout: shortSession}})
	s2 := session(t, e.addr, recipe.SessionOptions{})
	log1 := watchStates(s1)
	c := connect(t, e.addr)
	base := e.path("services")

	d1 := recipe.NewServiceDiscovery(s1, base, recipe.DiscoveryOptions{})
	inst1 := recipe.NewServiceInstance("web", "127.0.0.1", 8080)
	inst1.Payload = json.RawMessage(`"one"`)
	must(t, d1.RegisterService(ctx(t), inst1)) // before Start: remembered only
	must(t, d1.Start(ctx(t)))
	inst2 := recipe.NewServiceInstance("web", "127.0.0.2", 8081)
	inst2.ServiceType = recipe.ServiceStatic
	must(t, d1.RegisterService(ctx(t), inst2))
	inst3 := recipe.NewServiceInstance("db", "127.0.0.3", 0)
	must(t, d1.RegisterService(ctx(t), inst3))

	data, st, err := c.GetData(ctx(t), base+"/web/"+inst1.ID)
	must(t, err)
	if string(data) != string(inst1.MarshalCurator(false)) || st.EphemeralOwner == 0 {
		t.Errorf("DYNAMIC instance node: %s (owner 0x%x)", data, st.EphemeralOwner)
	}
	if _, st, err := c.GetData(ctx(t), base+"/web/"+inst2.ID); err != nil || st.EphemeralOwner != 0 {
		t.Errorf("STATIC instance node: owner 0x%x %v, want persistent", st.EphemeralOwner, err)
	}

	d2 := recipe.NewServiceDiscovery(s2, base, recipe.DiscoveryOptions{})
	names, err := d2.QueryForNames(ctx(t))
	if err != nil || !slices.Equal(names, []string{"db", "web"}) {
		t.Errorf("QueryForNames = %q %v", names, err)
	}
	insts, err := d2.QueryForInstances(ctx(t), "web")
	must(t, err)
	if len(insts) != 2 {
		t.Fatalf("QueryForInstances = %+v", insts)
	}
	for _, got := range insts {
		want := inst1
		if got.ID == inst2.ID {
			want = inst2
		}
		if string(got.MarshalCurator(true)) != string(want.MarshalCurator(true)) {
			t.Errorf("instance read back %+v, want %+v", got, want)
		}
	}
	if _, ok, err := d2.QueryForInstance(ctx(t), "web", "nope"); ok || err != nil {
		t.Errorf("QueryForInstance of a missing id = %v %v", ok, err)
	}
	inst1.Payload = json.RawMessage(`"updated"`)
	must(t, d1.UpdateService(ctx(t), inst1))
	if got, ok, err := d2.QueryForInstance(ctx(t), "web", inst1.ID); !ok || err != nil || string(got.Payload) != `"updated"` {
		t.Errorf("after UpdateService: %+v %v %v", got, ok, err)
	}
	must(t, d1.UnregisterService(ctx(t), inst3))
	if insts, err := d2.QueryForInstances(ctx(t), "db"); len(insts) != 0 || err != nil {
		t.Errorf("after UnregisterService: %+v %v", insts, err)
	}

	// The session is lost: the DYNAMIC instance comes back with the new session.
	blockAll(ps)
	log1.waitFor(t, recipe.StateLost, 1)
	unblockAll(ps)
	log1.waitFor(t, recipe.StateReconnected, 1)
	harness.CheckFor(t, waitTime, func() error {
		cur := s1.Client()
		if cur == nil {
			return fmt.Errorf("no client")
		}
		_, st, err := c.GetData(ctx(t), base+"/web/"+inst1.ID)
		if err != nil {
			return err
		}
		if st.EphemeralOwner != cur.SessionID() {
			return fmt.Errorf("instance owned by 0x%x, want the new session 0x%x", st.EphemeralOwner, cur.SessionID())
		}
		return nil
	})

	must(t, d1.Close(ctx(t)))
	if insts, err := d2.QueryForInstances(ctx(t), "web"); len(insts) != 0 || err != nil {
		t.Errorf("after Close: %+v %v", insts, err)
	}
}
