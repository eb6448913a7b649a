package containers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/tests/harness"
)

// TestSwarm deploys, on a single-node swarm (initialised if this engine is in none, and
// left afterwards), deploy/swarm/stack.yml and the official zookeeper image's stack.yml
// with only the image changed. For each it waits for every member to be ready and runs a
// client workload from a container on the stack's network, through the service names.
func TestSwarm(t *testing.T) {
	t.Parallel()
	img := image(t)
	joinSwarm(t)
	node := mustDocker(t, "info", "--format", "{{.Swarm.NodeID}}")
	labelNode(t, node, "paddock.zoo1=true", "paddock.zoo2=true", "paddock.zoo3=true")

	t.Run("stack.yml", func(t *testing.T) {
		t.Parallel()
		deployStack(t, img, filepath.Join(repoRoot, "deploy", "swarm", "stack.yml"), "paddock")
	})
	t.Run("zookeeper stack.yml", func(t *testing.T) {
		t.Parallel()
		text, err := os.ReadFile(filepath.Join("testdata", "zookeeper-stack.yml"))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(text), "image: zookeeper\n", "image: "+img+"\n")
		for _, hp := range []string{"2181", "2182", "2183"} {
			s = strings.ReplaceAll(s, "- "+hp+":2181\n", "- \"2181\"\n")
		}
		if strings.Count(s, img) != 3 || strings.Count(s, `- "2181"`) != 3 {
			t.Fatalf("testdata/zookeeper-stack.yml is not the file this test expects:\n%s", s)
		}
		file := filepath.Join(t.TempDir(), "stack.yml")
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		deployStack(t, img, file, "") // its network is not attachable
	})
	t.Run("assemble.yml", func(t *testing.T) {
		t.Parallel()
		assembleStack(t, img) // assemble_test.go
	})
}

// deployStack deploys a stack file under a unique name, waits until every member (zoo1..3)
// has one running task that is ready, and drives a workload through the service names
// from a container on the stack's network (attachable; "" = from inside zoo1's task).
// t.Cleanup removes the stack.
func deployStack(t *testing.T, img, file, network string) {
	stack := "paddocktest" + randomName(4)
	env := []string{"PADDOCK_IMAGE=" + img, "ZOO1_PORT=0", "ZOO2_PORT=0", "ZOO3_PORT=0"}
	t.Cleanup(func() { removeStack(t, stack) })
	start := time.Now()
	if _, err := run(3*time.Minute, env, "docker", "stack", "deploy", "--compose-file", file, stack); err != nil {
		t.Fatal(err)
	}

	// One running task per member, each ready: the members found each other through
	// the service names, which Swarm publishes only for healthy tasks.
	tasks := map[string]string{}
	harness.CheckFor(t, formTimeout, func() error {
		for _, m := range members {
			out, err := dockerCmd("container", "ls", "--quiet",
				"--filter", "label=com.docker.swarm.service.name="+stack+"_"+m, "--filter", "status=running")
			if err != nil {
				return err
			}
			ids := strings.Fields(out)
			if len(ids) != 1 {
				return fmt.Errorf("%s has %d running tasks", m, len(ids))
			}
			tasks[m] = ids[0]
		}
		for _, m := range members {
			if err := containerHealth(tasks[m]); err != nil {
				return fmt.Errorf("%s: %v", m, err)
			}
		}
		return nil
	})
	t.Logf("stack %s deployed and every member ready in %v", stack, time.Since(start).Round(time.Millisecond))

	// paddock bench writes and reads with go-zookeeper and counts every error. It runs in
	// a container of its own on an attachable network, else inside zoo1's task.
	bench := []string{"bench", "--servers", "zoo1:2181,zoo2:2181,zoo3:2181", "--workload", "mix", "--read-ratio", "0.5",
		"--keys", "30", "--sessions", "3", "--inflight", "3", "--ops", "600", "--warmup", "0s", "--json", "--quiet"}
	where := "a container on " + stack + "_" + network
	argv := append([]string{"run", "--rm", "--network", stack + "_" + network, img}, bench...)
	if network == "" {
		where = "zoo1's task"
		argv = append([]string{"exec", tasks["zoo1"], "/paddock"}, bench...)
	}
	out, err := run(3*time.Minute, nil, "docker", argv...)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Ops    int64 `json:"ops"`
		Errors int64 `json:"errors"`
	}
	if i := strings.IndexByte(out, '{'); i < 0 || json.Unmarshal([]byte(out[i:]), &res) != nil {
		t.Fatalf("bench printed no result:\n%s", out)
	}
	if res.Ops < 600 || res.Errors != 0 {
		t.Fatalf("bench through the stack: %d operations, %d errors\n%s", res.Ops, res.Errors, out)
	}
	t.Logf("bench from %s through zoo1..3: %d operations, no errors", where, res.Ops)
}

// joinSwarm makes sure this engine is a swarm manager: it initialises a single-node swarm
// if the engine is in none (and leaves it in t.Cleanup), and skips the test when the
// engine is in a swarm it cannot deploy to, or cannot start one.
func joinSwarm(t *testing.T) {
	t.Helper()
	state := mustDocker(t, "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
	switch state {
	case "active true":
		return
	case "inactive false":
	default:
		t.Skipf("this engine's swarm state is %q: not a manager, and not free to initialise a swarm", state)
	}
	// swarm init creates docker_gwbridge, and leaving keeps it.
	_, gwErr := dockerCmd("network", "inspect", "docker_gwbridge")
	if out, err := run(time.Minute, nil, "docker", "swarm", "init", "--advertise-addr", "127.0.0.1"); err != nil {
		t.Skipf("swarm mode does not work on this engine (docker swarm init failed): %s", firstLine(out))
	}
	t.Cleanup(func() {
		if _, err := dockerCmd("swarm", "leave", "--force"); err != nil {
			t.Errorf("leaving the swarm this test initialised: %v", err)
			return
		}
		if gwErr != nil {
			dockerCmd("network", "rm", "docker_gwbridge")
		}
	})
}

// labelNode adds the labels the stack's placement constraints need, removing in t.Cleanup
// those the node did not have.
func labelNode(t *testing.T, node string, labels ...string) {
	t.Helper()
	have := mustDocker(t, "node", "inspect", "--format", "{{json .Spec.Labels}}", node)
	var existing map[string]string
	json.Unmarshal([]byte(have), &existing)
	args := []string{"node", "update"}
	var added []string
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if cur, ok := existing[k]; ok && cur == v {
			continue
		}
		args = append(args, "--label-add", l)
		added = append(added, k)
	}
	if len(added) == 0 {
		return
	}
	mustDocker(t, append(args, node)...)
	t.Cleanup(func() {
		args := []string{"node", "update"}
		for _, k := range added {
			args = append(args, "--label-rm", k)
		}
		// Fails harmlessly when the node left the swarm already.
		dockerCmd(append(args, node)...)
	})
}

// removeStack removes the stack and waits for its containers to go, then removes its
// volumes (and its network, if the stack left it behind).
func removeStack(t *testing.T, stack string) {
	start := time.Now()
	defer func() { t.Logf("stack %s removed in %v", stack, time.Since(start).Round(time.Millisecond)) }()
	if t.Failed() {
		for _, m := range members {
			out, _ := dockerCmd("service", "logs", "--no-task-ids", "--tail", "40", stack+"_"+m)
			t.Logf("%s_%s, last log lines:\n%s", stack, m, out)
		}
	}
	if _, err := dockerCmd("stack", "rm", stack); err != nil {
		t.Errorf("docker stack rm: %v", err)
	}
	filter := "label=com.docker.stack.namespace=" + stack
	err := pollUntil(2*time.Minute, func() error {
		out, err := dockerCmd("container", "ls", "--all", "--quiet", "--filter", filter)
		if err == nil && strings.TrimSpace(out) != "" {
			err = fmt.Errorf("containers left: %s", strings.Join(strings.Fields(out), " "))
		}
		return err
	})
	if err != nil {
		t.Errorf("removing stack %s: %v", stack, err)
	}
	for _, kind := range []string{"volume", "network"} {
		out, err := dockerCmd(kind, "ls", "--quiet", "--filter", filter)
		if err != nil || strings.TrimSpace(out) == "" {
			continue
		}
		if _, err := dockerCmd(append([]string{kind, "rm"}, strings.Fields(out)...)...); err != nil {
			t.Errorf("removing stack %s: %v", stack, err)
		}
	}
}

// pollUntil is harness.CheckFor for cleanups, which must not stop at the first failure:
// it returns f's last error instead of failing the test.
func pollUntil(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
