package io.quarry.bench;

import static io.quarry.bench.BenchSupport.check;
import static io.quarry.bench.BenchSupport.f0;
import static io.quarry.bench.BenchSupport.say;

import io.quarry.flow.FlowEndpoints;
import io.quarry.platform.sim.PlatformSimulator;
import io.quarry.security.TokenCipher;
import io.quarry.support.Services;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.mock.env.MockEnvironment;

/**
 * The chaos run ({@code bench/run chaos}); not a test. Mines users end to end, as {@code bench/run
 * mining} does (simulated API in this JVM, a real Quarry context in an environment and schema of
 * its own on the machine's PostgreSQL), but against the 3-node RabbitMQ cluster of {@code
 * bench/cluster} with every queue a quorum queue and {@code quarry.rabbitmq.addresses} listing the
 * three nodes. Once a share of the pages is mined, it injects a fault, then waits until every chain
 * has ended and every item is stored and counted (or the time limit), and counts what was lost and
 * what was counted twice.
 *
 * <p>Faults ({@code -Dbench.chaos.fault}): {@code cluster-node-kill}, {@code kill -9} of the Erlang
 * VM of node 1 (the node Quarry is connected to: it is first in the addresses), which is started
 * again {@code bench.chaos.down-s} seconds later and rejoins the cluster; {@code
 * cluster-node-stop}, the same node stopped gracefully ({@code rabbitmqctl stop}) and started
 * again. The single-node faults run against services of their own: {@code broker-kill} and {@code
 * broker-stop} on a one-node broker ({@code bench/cluster} with {@link #SINGLE_BROKER}, classic
 * queues); {@code postgres-restart} ({@code pg_ctl restart -m fast}) and {@code
 * postgres-immediate-stop} ({@code pg_ctl stop -m immediate}, started again) on the PostgreSQL of
 * {@code bench/postgres}; {@code jvm-kill}, Quarry in a child JVM killed with SIGKILL and a new one
 * started, which resumes. The last line is {@code RESULT chaos fault=<name> lost=<n> duplicated=<n>
 * recovery_s=<s> ...}: lost counts items never stored plus items stored but not counted by
 * analytics, duplicated counts items analytics counted more than once (raw storage cannot hold a
 * duplicate: its key is the item), recovery_s is the time from the fault until mining ran at half
 * its rate before the fault again.
 */
public final class ChaosBenchmark {

  static final String STREAM = "posts";
  static final int ITEMS_PER_PAGE = 20;
  static final int POLL_MILLIS = 250;
  static final List<String> FAULTS =
      List.of(
          "cluster-node-kill",
          "cluster-node-stop",
          "broker-kill",
          "broker-stop",
          "postgres-restart",
          "postgres-immediate-stop",
          "jvm-kill");

  /** The environment of {@code bench/cluster} for the single-node broker of the broker faults. */
  static final Map<String, String> SINGLE_BROKER =
      Map.of(
          "QUARRY_CLUSTER_NODES", "1",
          "QUARRY_CLUSTER_NAME", "quarry-single",
          "QUARRY_CLUSTER_PORT_BASE", "5790");

  static final int SINGLE_AMQP_PORT = 5791;
  static final int SINGLE_MANAGEMENT_PORT = 15791;

  /** Where a fault strikes, and so which services the run starts of its own. */
  enum Target {
    /** bench/cluster's 3 nodes, quorum queues; the machine's PostgreSQL. */
    CLUSTER,
    /** A single RabbitMQ node of the run's own (bench/cluster with one node); PostgreSQL 5432. */
    BROKER,
    /** A PostgreSQL of the run's own (bench/postgres); the machine's RabbitMQ (5672). */
    POSTGRES,
    /** Quarry in a JVM of its own, killed and started again; the machine's RabbitMQ and DB. */
    JVM;

    static Target of(String fault) {
      if (fault.startsWith("cluster-")) {
        return CLUSTER;
      }
      if (fault.startsWith("broker-")) {
        return BROKER;
      }
      return fault.startsWith("postgres-") ? POSTGRES : JVM;
    }
  }

  /** One run's settings; each can be overridden with {@code -Dbench.chaos.<name>}. */
  record Settings(
      String fault,
      int users,
      int pages,
      int latencyMillis,
      int consumers,
      double faultAt,
      int downSeconds,
      int maxSeconds,
      boolean keepCluster) {

    static Settings fromSystemProperties() {
      return new Settings(
          System.getProperty("bench.chaos.fault", "cluster-node-kill"),
          Integer.getInteger("bench.chaos.users", 1_000),
          Integer.getInteger("bench.chaos.pages", 6),
          Integer.getInteger("bench.chaos.latency-ms", 50),
          Integer.getInteger("bench.chaos.consumers", 32),
          Double.parseDouble(System.getProperty("bench.chaos.fault-at", "0.3")),
          Integer.getInteger("bench.chaos.down-s", 10),
          Integer.getInteger("bench.chaos.max-seconds", 600),
          Boolean.getBoolean("bench.chaos.keep-cluster"));
    }
  }

  private final Settings settings;
  private final Target target;
  private final String name = BenchSupport.newName("benchchaos");
  private final Path cluster = Path.of("bench", "cluster");
  private final Path postgres = Path.of("bench", "postgres");
  private final Services database;

  /** The broker that the fault leaves up at the end (node 2 of the cluster): for cleaning up. */
  private final Services bus;

  private PlatformSimulator simulator;
  private ConfigurableApplicationContext context;
  private ProducerTemplate producer;
  private boolean clusterStarted;
  private boolean postgresStarted;

  /** When the fault's command returned (a graceful stop takes seconds), or 0 before. */
  private volatile long nodeDownAt;

  private ChaosBenchmark(Settings settings) {
    this.settings = settings;
    this.target = Target.of(settings.fault());
    this.bus =
        switch (target) {
          case CLUSTER -> services("quarry.rabbitmq.port", "5782", "15782");
          case BROKER ->
              services(
                  "quarry.rabbitmq.port",
                  String.valueOf(SINGLE_AMQP_PORT),
                  String.valueOf(SINGLE_MANAGEMENT_PORT));
          case POSTGRES, JVM -> Services.from(new StandardEnvironment());
        };
    this.database =
        target == Target.POSTGRES
            ? Services.from(
                new MockEnvironment()
                    .withProperty("quarry.database.port", String.valueOf(postgresPort())))
            : Services.from(new StandardEnvironment());
  }

  private static Services services(String key, String port, String managementPort) {
    return Services.from(
        new MockEnvironment()
            .withProperty(key, port)
            .withProperty("quarry.test.rabbitmq-management-port", managementPort));
  }

  private static int postgresPort() {
    String port = System.getenv("QUARRY_CHAOS_PG_PORT");
    return port == null || port.isBlank() ? 5499 : Integer.parseInt(port.trim());
  }

  public static void main(String[] args) {
    Settings settings = Settings.fromSystemProperties();
    System.setProperty("sun.net.httpserver.nodelay", "true");
    ChaosBenchmark benchmark = new ChaosBenchmark(settings);
    BenchSupport.runMainWithResult("chaos", benchmark::run, benchmark::cleanUp);
  }

  private String run() throws Exception {
    check(
        FAULTS.contains(settings.fault()),
        "unknown fault '" + settings.fault() + "' (known: " + FAULTS + ")");
    check(Files.isExecutable(cluster), "run from the repository's root (bench/run chaos)");
    say(
        "Chaos run '%s': %s users x %d pages x %d items, fault %s at %.0f%% of the pages",
        name,
        f0(settings.users()),
        settings.pages(),
        ITEMS_PER_PAGE,
        settings.fault(),
        100 * settings.faultAt());
    String addresses = null;
    switch (target) {
      case CLUSTER -> {
        clusterStarted = true;
        script("start");
        addresses = script("addresses").trim();
      }
      case BROKER -> {
        clusterStarted = true;
        run(cluster, SINGLE_BROKER, "start");
        addresses = run(cluster, SINGLE_BROKER, "addresses").trim();
      }
      case POSTGRES -> {
        postgresStarted = true;
        run(postgres, Map.of(), "start");
      }
      case JVM -> {
        // Quarry's JVM is a child process here; the machine's broker and database.
      }
    }

    simulator =
        MiningBenchmark.simulator(Math.max(MiningBenchmark.stockSimulatorThreads(), 64))
            .latency(Duration.ofMillis(settings.latencyMillis()))
            .defaultPages(settings.pages());
    TokenCipher cipher;
    if (target == Target.JVM) {
      quarryArgs = quarryArgs(addresses);
      quarry = startQuarryJvm(1);
      cipher = new TokenCipher(TEST_TOKEN_KEY);
    } else {
      context = BenchSupport.startQuarry(name, quarryArgs(addresses), c -> {});
      CamelContext camel = context.getBean(CamelContext.class);
      producer = camel.createProducerTemplate();
      cipher = context.getBean(TokenCipher.class);
    }

    long expectedPages = (long) settings.users() * settings.pages();
    long expectedItems = expectedPages * ITEMS_PER_PAGE;
    {
      Connection db = db();
      insertUsers(db, cipher);

      long t0 = System.nanoTime();
      if (target == Target.JVM) {
        check(api("POST", "/" + STREAM + "-scheduler/trigger") / 100 == 2, "trigger refused");
      } else {
        producer.sendBody(FlowEndpoints.schedulerWorker(STREAM), null);
      }
      say("tick: %s users fanned out in %.2f s", f0(settings.users()), seconds(t0));

      Deque<long[]> window = new ArrayDeque<>(); // (nanos, pages mined) of the last polls
      long deadline = t0 + TimeUnit.SECONDS.toNanos(settings.maxSeconds());
      long nextReport = t0;
      long faultAt = 0;
      double rateBefore = Double.NaN;
      double recovery = Double.NaN;
      CompletableFuture<Double> nodeBack = null;
      boolean complete = false;
      while (System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
        long now = System.nanoTime();
        long pages;
        try {
          // While the run's PostgreSQL is down, the polls fail: no sample, a new connection after.
          db = db();
          pages = count(db, "select coalesce(sum(pages_mined), 0) from mining_state");
        } catch (SQLException e) {
          dropDb();
          continue;
        }
        window.addLast(new long[] {now, pages});
        while (window.size() > 2 && now - window.peekFirst()[0] > TimeUnit.SECONDS.toNanos(3)) {
          window.removeFirst();
        }
        double rate = rate(window, TimeUnit.SECONDS.toNanos(1));
        if (faultAt == 0 && pages >= settings.faultAt() * expectedPages) {
          rateBefore = rate(window, TimeUnit.SECONDS.toNanos(3));
          say(
              "%5.1f s: %s pages mined (%s pages/s): %s",
              seconds(t0), f0(pages), f0(rateBefore), settings.fault());
          faultAt = System.nanoTime();
          nodeBack = injectFault(faultAt);
          window.clear();
          continue;
        }
        long down = nodeDownAt;
        if (down != 0
            && Double.isNaN(recovery)
            && now - down > TimeUnit.SECONDS.toNanos(1)
            && rate >= 0.5 * rateBefore) {
          recovery = (now - down) / 1e9;
          say(
              "%5.1f s: mining back at %s pages/s, %.1f s after the service went down (%.1f s after"
                  + " the fault began)",
              seconds(t0), f0(rate), recovery, (now - faultAt) / 1e9);
        }
        Map<String, Long> chains;
        try {
          chains = chains(db);
        } catch (SQLException e) {
          dropDb();
          continue;
        }
        long ended =
            chains.getOrDefault("completed", 0L)
                + chains.getOrDefault("stopped", 0L)
                + chains.getOrDefault("failed", 0L);
        if (now >= nextReport) {
          say(
              "%5.1f s: chains %s, %s of %s pages mined (%s pages/s), %s items stored",
              seconds(t0),
              chains,
              f0(pages),
              f0(expectedPages),
              f0(rate),
              f0(countOrMinusOne(db, "select count(*) from raw_item")));
          nextReport = now + TimeUnit.SECONDS.toNanos(5);
        }
        if (faultAt != 0
            && nodeBack.isDone()
            && ended == settings.users()
            && countOrMinusOne(db, "select count(*) from raw_item") == expectedItems
            && countOrMinusOne(db, "select coalesce(sum(items), 0) from analytics_daily")
                == expectedItems) {
          complete = true;
          break;
        }
      }
      double seconds = seconds(t0);
      double back = nodeBack == null ? Double.NaN : nodeBack.get(120, TimeUnit.SECONDS);
      dropDb();
      db = db();
      Figures figures = figures(db, expectedItems);
      say("");
      say(
          "Summary: %s in %.1f s; %s of %s items stored, %s lost, %s counted twice; chains %s;"
              + " %d parked dead letters; node back after %.1f s; mining at half its rate again"
              + " %.1f s after the fault",
          complete ? "every item stored and counted" : "STOPPED at the time limit",
          seconds,
          f0(figures.stored()),
          f0(expectedItems),
          f0(figures.lost()),
          f0(figures.duplicated()),
          chains(db),
          figures.parked(),
          back,
          recovery);
      return String.format(
          Locale.ROOT,
          "RESULT chaos fault=%s lost=%d duplicated=%d recovery_s=%.1f complete=%s seconds=%.1f"
              + " items=%d users=%d pages=%d consumers=%d node_down_s=%.1f node_back_s=%.1f"
              + " rate_before=%.0f"
              + " parked=%d queue_type=%s nodes=%d",
          settings.fault(),
          figures.lost(),
          figures.duplicated(),
          recovery,
          complete,
          seconds,
          expectedItems,
          settings.users(),
          settings.pages(),
          settings.consumers(),
          nodeDownAt == 0 ? Double.NaN : (nodeDownAt - faultAt) / 1e9,
          back,
          rateBefore,
          figures.parked(),
          target == Target.CLUSTER ? "quorum" : "classic",
          target == Target.CLUSTER ? 3 : 1);
    }
  }

  private Connection connection;

  /** The connection of the polls, in the run's schema; a new one after a failure. */
  private Connection db() throws SQLException {
    if (connection == null) {
      Connection c = database.jdbc();
      try (Statement s = c.createStatement()) {
        s.execute("set search_path to " + name);
      }
      connection = c;
    }
    return connection;
  }

  private void dropDb() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // broken anyway
      }
      connection = null;
    }
  }

  private long countOrMinusOne(Connection db, String sql) {
    try {
      return count(db, sql);
    } catch (Exception e) {
      dropDb();
      return -1;
    }
  }

  private List<String> quarryArgs(String addresses) {
    List<String> args = new ArrayList<>();
    args.add("--quarry.platform.base-url=" + simulator.baseUrl());
    switch (target) {
      case CLUSTER -> {
        args.add("--quarry.rabbitmq.addresses=" + addresses);
        args.add("--quarry.rabbitmq.host=127.0.0.1");
        // The management API of every node: its figures come from another node while one is down.
        args.add(
            "--quarry.rabbitmq.management-addresses=127.0.0.1:15781,127.0.0.1:15782,127.0.0.1:15783");
        for (String kind : List.of("work", "events", "dead-letter", "delay")) {
          args.add("--quarry.rabbitmq.queue-types." + kind + "=quorum");
        }
      }
      case BROKER -> {
        // Quarry's default queue types (classic, durable, persistent messages) on one node.
        args.add("--quarry.rabbitmq.addresses=" + addresses);
        args.add("--quarry.rabbitmq.host=127.0.0.1");
        args.add("--quarry.rabbitmq.port=" + SINGLE_AMQP_PORT);
        args.add("--quarry.rabbitmq.management-port=" + SINGLE_MANAGEMENT_PORT);
      }
      case POSTGRES -> args.add("--quarry.database.port=" + postgresPort());
    }
    args.add("--quarry.mining.consumers=" + settings.consumers());
    // Production's redeliveries (the test profile's single one at 100 ms is for fast tests).
    args.add("--quarry.mining.redeliveries=3");
    args.add("--quarry.mining.redelivery-delay=1s");
    args.add("--quarry.mining.dead-letter-retries=3");
    // Each channel on the lost node logs a stack trace (acks and publishes that failed, consumers
    // restarted): hundreds of lines that hide the run's own. The figures say what came of them.
    args.add("--logging.level.org.springframework.amqp=OFF");
    args.add("--logging.level.org.apache.camel.component.springrabbit=OFF");
    return args;
  }

  /**
   * Injects the fault beside the polling (a graceful stop takes a while); the future completes with
   * the seconds until the node was back.
   */
  private CompletableFuture<Double> injectFault(long at) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            switch (settings.fault()) {
              case "cluster-node-kill" -> down(cluster, Map.of(), "kill", "1");
              case "cluster-node-stop" -> down(cluster, Map.of(), "stop-node", "1");
              case "broker-kill" -> down(cluster, SINGLE_BROKER, "kill", "1");
              case "broker-stop" -> down(cluster, SINGLE_BROKER, "stop-node", "1");
              case "postgres-immediate-stop" -> down(postgres, Map.of(), "stop-immediate");
              case "postgres-restart" -> {
                // One command: the server is down from its start until it returns.
                nodeDownAt = System.nanoTime();
                run(postgres, Map.of(), "restart");
              }
              case "jvm-kill" -> {
                // kill -9 (SIGKILL): no shutdown hook, no graceful stop of the consumers.
                quarry.destroyForcibly().waitFor();
                nodeDownAt = System.nanoTime();
                say("Quarry's JVM killed (kill -9 of pid %d)", quarry.pid());
              }
              default -> throw new IllegalStateException(settings.fault());
            }
            if (target == Target.JVM) {
              LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(settings.downSeconds()));
              quarry = startQuarryJvm(2);
            } else if (!settings.fault().equals("postgres-restart")) {
              LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(settings.downSeconds()));
              switch (target) {
                case CLUSTER -> run(cluster, Map.of(), "start-node", "1");
                case BROKER -> run(cluster, SINGLE_BROKER, "start-node", "1");
                case POSTGRES -> run(postgres, Map.of(), "start-server");
                case JVM -> throw new IllegalStateException();
              }
            }
          } catch (Exception e) {
            throw new IllegalStateException(target + " did not come back", e);
          }
          double back = (System.nanoTime() - at) / 1e9;
          say("%s back %.1f s after the fault began", serviceName(), back);
          return back;
        });
  }

  private void down(Path script, Map<String, String> env, String... args) throws Exception {
    run(script, env, args);
    nodeDownAt = System.nanoTime();
  }

  private String serviceName() {
    return switch (target) {
      case CLUSTER -> "node 1 (in the cluster)";
      case BROKER -> "the broker";
      case POSTGRES -> "PostgreSQL";
      case JVM -> "a new Quarry JVM";
    };
  }

  /** The test profile's token key (src/test/resources/application-test.yaml). */
  static final String TEST_TOKEN_KEY = "dGVzdC1vbmx5LWtleS1mb3ItcXVhcnJ5LWl0LXRlc3Q=";

  private static final String API_TOKEN = "chaos-" + UUID.randomUUID();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private List<String> quarryArgs;
  private volatile Process quarry;
  private int httpPort;
  private final List<Path> quarryLogs = new ArrayList<>();

  /**
   * Starts Quarry in a JVM of its own (this JVM's classpath, the test profile, the run's
   * environment and schema, an API client for the trigger) and waits until its API answers.
   */
  private Process startQuarryJvm(int life) throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      httpPort = socket.getLocalPort();
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.add("-Dsun.net.httpserver.nodelay=true");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("io.quarry.QuarryApplication");
    command.add("--spring.profiles.active=test");
    command.add("--server.address=127.0.0.1");
    command.add("--server.port=" + httpPort);
    command.add("--quarry.environment=" + name);
    command.add("--quarry.database.schema=" + name);
    command.add("--quarry.security.api-clients=chaos:admin:" + sha256(API_TOKEN));
    command.add("--logging.level.io.quarry=WARN");
    command.add("--logging.level.org.apache.camel.component.quartz=WARN");
    command.addAll(quarryArgs);
    Path log = Path.of("target", name + "-quarry-" + life + ".log");
    quarryLogs.add(log);
    long start = System.nanoTime();
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    quarry = process;
    long deadline = start + TimeUnit.SECONDS.toNanos(180);
    while (api("GET", "/" + STREAM + "-scheduler") != 200) {
      check(process.isAlive(), "Quarry's JVM exited; see " + log);
      check(System.nanoTime() < deadline, "Quarry's JVM did not answer in 180 s; see " + log);
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
    say(
        "(Quarry JVM %d, pid %d, answering in %.1f s)",
        life, process.pid(), (System.nanoTime() - start) / 1e9);
    return process;
  }

  /** The status of a call of /api/jobs on the child JVM, 0 if it does not answer. */
  private int api(String method, String path) {
    try {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/api/jobs" + path))
              .header("Authorization", "Bearer " + API_TOKEN)
              .timeout(Duration.ofSeconds(5))
              .method(method, HttpRequest.BodyPublishers.noBody())
              .build();
      return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  private static String sha256(String text) throws Exception {
    return HexFormat.of()
        .formatHex(
            MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
  }

  record Figures(long stored, long lost, long duplicated, long parked) {}

  /**
   * Items never stored, plus items stored but counted less often than stored (per user and day);
   * items counted more often than stored.
   */
  private static Figures figures(Connection db, long expectedItems) throws Exception {
    long stored = count(db, "select count(*) from raw_item");
    long undercounted;
    long overcounted;
    try (Statement s = db.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select coalesce(sum(greatest(coalesce(r.n, 0) - coalesce(a.items, 0), 0)), 0),"
                    + " coalesce(sum(greatest(coalesce(a.items, 0) - coalesce(r.n, 0), 0)), 0)"
                    + " from analytics_daily a full join (select user_id, stream, item_day as"
                    + " day, count(*) as n from raw_item group by 1, 2, 3) r"
                    + " using (user_id, stream, day)")) {
      rs.next();
      undercounted = rs.getLong(1);
      overcounted = rs.getLong(2);
    }
    long parked = count(db, "select count(*) from dead_letter");
    return new Figures(
        stored, Math.max(0, expectedItems - stored) + undercounted, overcounted, parked);
  }

  private void insertUsers(Connection db, TokenCipher cipher) throws Exception {
    db.setAutoCommit(false);
    try (PreparedStatement insert =
        db.prepareStatement(
            "insert into app_user (external_id, access_token, active) values (?, ?, true)")) {
      for (int i = 1; i <= settings.users(); i++) {
        insert.setString(1, "chaos-" + i);
        insert.setBytes(2, cipher.encrypt("token-" + i));
        insert.addBatch();
      }
      insert.executeBatch();
      db.commit();
    } finally {
      db.setAutoCommit(true);
    }
  }

  /** Pages per second over the polls of the last {@code span} nanoseconds. */
  private static double rate(Deque<long[]> window, long span) {
    if (window.size() < 2) {
      return 0;
    }
    long[] last = window.peekLast();
    long[] first = window.peekFirst();
    for (long[] poll : window) {
      if (last[0] - poll[0] <= span) {
        first = poll;
        break;
      }
    }
    return last[0] == first[0] ? 0 : (last[1] - first[1]) * 1e9 / (last[0] - first[0]);
  }

  private static Map<String, Long> chains(Connection db) throws Exception {
    Map<String, Long> chains = new LinkedHashMap<>();
    try (Statement s = db.createStatement();
        ResultSet rs =
            s.executeQuery("select status, count(*) from mining_state group by 1 order by 1")) {
      while (rs.next()) {
        chains.put(rs.getString(1), rs.getLong(2));
      }
    }
    return chains;
  }

  private static long count(Connection db, String sql) throws Exception {
    try (Statement s = db.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }

  /** Runs {@code bench/cluster} with the arguments; its standard output, or a failure. */
  private String script(String... args) throws IOException, InterruptedException {
    return run(cluster, Map.of(), args);
  }

  /** Runs a bench script with extra environment; its standard output, or a failure. */
  private static String run(Path script, Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(script.toString());
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    builder.environment().putAll(env);
    Process process = builder.start();
    String out = new String(process.getInputStream().readAllBytes());
    check(process.waitFor() == 0, script + " " + String.join(" ", args) + " failed");
    return out;
  }

  private synchronized void cleanUp() {
    Process child = quarry;
    if (child != null) {
      // The run is over: the child JVM stops gracefully (its queues are dropped below).
      child.destroy();
      try {
        if (!child.waitFor(30, TimeUnit.SECONDS)) {
          child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      quarry = null;
    }
    if (!quarryLogs.isEmpty()) {
      say("(the logs of Quarry's JVMs: %s)", quarryLogs);
    }
    if (producer != null) {
      try {
        producer.close();
      } catch (IOException ignored) {
        // closed with the context anyway
      }
      producer = null;
    }
    if (context != null) {
      LoggingSystem logging = LoggingSystem.get(getClass().getClassLoader());
      logging.setLogLevel("org.apache.camel.component.springrabbit", LogLevel.OFF);
      logging.setLogLevel("org.springframework.amqp", LogLevel.OFF);
      context.close();
      context = null;
    }
    if (simulator != null) {
      simulator.close();
      simulator = null;
    }
    BenchSupport.dropEnvironment(bus, name, "benchchaos");
    BenchSupport.dropEnvironment(database, name, "benchchaos");
    dropDb();
    if (clusterStarted && !settings.keepCluster()) {
      Map<String, String> env = target == Target.BROKER ? SINGLE_BROKER : Map.of();
      try {
        run(cluster, env, "stop");
      } catch (Exception e) {
        say("could not stop the broker (bench/cluster stop, environment %s): %s", env, e);
      }
      clusterStarted = false;
    }
    if (postgresStarted && !settings.keepCluster()) {
      try {
        run(postgres, Map.of(), "stop");
      } catch (Exception e) {
        say("could not stop PostgreSQL (bench/postgres stop): %s", e);
      }
      postgresStarted = false;
    }
  }
}
