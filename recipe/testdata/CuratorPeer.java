// CuratorPeer is the Java side of recipe's interop tests (interop_test.go): it uses Apache
// Curator 5.4's recipes on the same nodes as the Go recipes under test. Each mode prints its
// results on standard output, one line each, and "DONE" at the end; any error goes to
// standard error with a non-zero exit. "READY" comes first, once connected.
//
//	mutex     <connect> <path> <rounds> <marker>        acquire, hold, release <rounds> times
//	latch     <connect> <path> <id> <rounds> <marker>   become leader, lead, resign <rounds> times
//	register  <connect> <base> <name> <id> <port> <payload>  register; unregister at EOF on stdin
//	query     <connect> <base> <name>                   print every instance, as read and re-serialized
//
// While it holds the lock or leads, a peer owns <marker>, a file it creates with
// createNewFile (atomic, fails if it exists): "VIOLATION" is printed when it exists already,
// that is when a Go peer holds the lock at the same time.

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;

public class CuratorPeer {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        CuratorFramework client = CuratorFrameworkFactory.newClient(args[1], 20000, 20000, new ExponentialBackoffRetry(100, 10));
        client.start();
        if (!client.blockUntilConnected(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("cannot connect to " + args[1]);
        }
        System.out.println("READY");
        System.out.flush();
        try {
            switch (mode) {
                case "mutex": mutex(client, args[2], Integer.parseInt(args[3]), new File(args[4])); break;
                case "latch": latch(client, args[2], args[3], Integer.parseInt(args[4]), new File(args[5])); break;
                case "register": register(client, args[2], args[3], args[4], Integer.parseInt(args[5]), args[6]); break;
                case "query": query(client, args[2], args[3]); break;
                default: throw new IllegalArgumentException("unknown mode " + mode);
            }
        } finally {
            client.close();
        }
        System.out.println("DONE");
        System.out.flush();
    }

    static void hold(File marker) throws Exception {
        if (!marker.createNewFile()) {
            System.out.println("VIOLATION " + marker);
        }
        Thread.sleep(ThreadLocalRandom.current().nextInt(2, 15));
        if (!marker.delete()) {
            System.out.println("VIOLATION marker vanished " + marker);
        }
    }

    static void mutex(CuratorFramework client, String path, int rounds, File marker) throws Exception {
        InterProcessMutex lock = new InterProcessMutex(client, path);
        for (int i = 0; i < rounds; i++) {
            lock.acquire();
            try {
                System.out.println("LOCKED " + i);
                System.out.flush();
                hold(marker);
            } finally {
                lock.release();
            }
        }
    }

    static void latch(CuratorFramework client, String path, String id, int rounds, File marker) throws Exception {
        for (int i = 0; i < rounds; i++) {
            LeaderLatch latch = new LeaderLatch(client, path, id);
            latch.start();
            try {
                latch.await();
                System.out.println("LEADER " + i + " " + latch.getLeader().getId());
                System.out.flush();
                hold(marker);
            } finally {
                latch.close();
            }
        }
    }

    static void register(CuratorFramework client, String base, String name, String id, int port, String payload) throws Exception {
        ServiceInstance<String> instance = ServiceInstance.<String>builder()
            .name(name).id(id).address("127.0.0.1").port(port).payload(payload)
            .uriSpec(new UriSpec("{scheme}://{address}:{port}/java")).build();
        ServiceDiscovery<String> discovery = ServiceDiscoveryBuilder.builder(String.class)
            .client(client).basePath(base).thisInstance(instance).build();
        discovery.start();
        System.out.println("REGISTERED " + id);
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        while (in.readLine() != null) {
        }
        discovery.close();
    }

    static void query(CuratorFramework client, String base, String name) throws Exception {
        ServiceDiscovery<String> discovery = ServiceDiscoveryBuilder.builder(String.class)
            .client(client).basePath(base).build();
        discovery.start();
        JsonInstanceSerializer<String> serializer = new JsonInstanceSerializer<>(String.class);
        Collection<ServiceInstance<String>> instances = discovery.queryForInstances(name);
        for (ServiceInstance<String> inst : instances) {
            String raw = new String(client.getData().forPath(base + "/" + name + "/" + inst.getId()), StandardCharsets.UTF_8);
            System.out.println("INSTANCE " + inst.getId() + " " + inst.getAddress() + " " + inst.getPort() + " " + inst.getPayload()
                + " " + inst.getServiceType() + " " + inst.isEnabled() + " " + inst.buildUriSpec());
            System.out.println("RAW " + raw);
            System.out.println("JSON " + new String(serializer.serialize(inst), StandardCharsets.UTF_8));
        }
        discovery.close();
    }
}
