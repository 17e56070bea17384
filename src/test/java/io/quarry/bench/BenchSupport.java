package io.quarry.bench;

import io.quarry.QuarryApplication;
import io.quarry.support.Services;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Consumer;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * What the fan-out and mining benchmarks share: an environment and schema of their own (removed at
 * the end, also on Ctrl-C), a Quarry context started on it, the machine's description, output and
 * statistics helpers. Not a test.
 */
final class BenchSupport {

  private BenchSupport() {}

  /** A fresh environment suffix and schema name: the prefix and 8 hex digits. */
  static String newName(String prefix) {
    return prefix + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * Starts Quarry (profile {@code test}, no web server) in the given environment and schema, with
   * warnings and errors only in the log, so the benchmark's lines stay readable.
   */
  static ConfigurableApplicationContext startQuarry(
      String name, List<String> quarryArgs, Consumer<ConfigurableApplicationContext> initializer) {
    List<String> args = new ArrayList<>(quarryArgs);
    args.add("--quarry.environment=" + name);
    args.add("--quarry.database.schema=" + name);
    args.add("--logging.level.io.quarry=WARN");
    args.add("--logging.level.org.apache.camel.component.quartz=WARN");
    long start = System.nanoTime();
    ConfigurableApplicationContext context =
        new SpringApplicationBuilder(QuarryApplication.class)
            .web(WebApplicationType.NONE)
            .initializers(initializer::accept)
            .profiles("test")
            .logStartupInfo(false)
            .run(args.toArray(String[]::new));
    say("(Quarry context started in %.1f s)", (System.nanoTime() - start) / 1e9);
    return context;
  }

  /** Removes the queues, exchanges and schema of a benchmark environment (never another one). */
  static synchronized void dropEnvironment(Services services, String name, String prefix) {
    if (name == null || !name.startsWith(prefix) || !name.startsWith("bench")) {
      return;
    }
    try {
      services.deleteBusEntities(name);
    } catch (Exception e) {
      say("could not delete the bench queues of %s: %s", name, e);
    }
    try (Connection c = services.jdbc();
        Statement s = c.createStatement()) {
      s.execute("drop schema if exists " + name + " cascade");
    } catch (Exception e) {
      say("could not drop schema %s: %s", name, e);
    }
  }

  /** One line about the machine and the services, and a check that commits are synchronous. */
  static void describeMachine(Services services) throws Exception {
    String synchronousCommit = sql(services, "show synchronous_commit");
    say(
        "machine: %d processors, load average %s; %s; PostgreSQL %s (synchronous_commit=%s,"
            + " fsync=%s, max_connections=%s); RabbitMQ %s",
        Runtime.getRuntime().availableProcessors(),
        loadAverage(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
        sql(services, "show server_version"),
        synchronousCommit,
        sql(services, "show fsync"),
        sql(services, "show max_connections"),
        rabbitVersion(services));
    if (!"on".equals(synchronousCommit)) {
      throw new IllegalStateException("synchronous_commit must be on for this benchmark");
    }
  }

  static String sql(Services services, String query) throws Exception {
    try (Connection c = services.jdbc();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(query)) {
      rs.next();
      return rs.getString(1);
    }
  }

  static String rabbitVersion(Services services) throws Exception {
    try (com.rabbitmq.client.Connection connection = services.amqp()) {
      return String.valueOf(connection.getServerProperties().get("version"));
    }
  }

  /** The 1, 5 and 15 minute load averages: other work on the machine skews every figure. */
  static String loadAverage() {
    try {
      String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return fields[0] + " " + fields[1] + " " + fields[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int mid = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  static String verdict(double value, double target) {
    return Double.isNaN(value) ? "not measured" : value >= target ? "MET" : "MISSED";
  }

  static void check(boolean condition, String message) {
    if (!condition) {
      throw new AssertionError(message);
    }
  }

  static String f0(double value) {
    return String.format(Locale.ROOT, "%,.0f", value);
  }

  static void say(String format, Object... args) {
    System.out.println(String.format(Locale.ROOT, format, args));
    System.out.flush();
  }

  /** Something a benchmark runs that may throw. */
  interface Body {
    void run() throws Exception;
  }

  /**
   * Runs a benchmark's main body, cleans up whatever happens (also on Ctrl-C) and exits with 1 if
   * it failed.
   */
  static void runMain(String benchmark, Body body, Runnable cleanUp) {
    runMainWithResult(
        benchmark,
        () -> {
          body.run();
          return null;
        },
        cleanUp);
  }

  /** A benchmark's main body that returns its RESULT line. */
  interface ResultBody {
    String run() throws Exception;
  }

  /**
   * Like {@link #runMain}, and prints the body's RESULT line after the clean-up, so that it stays
   * the last line of the output whatever the clean-up logs.
   */
  static void runMainWithResult(String benchmark, ResultBody body, Runnable cleanUp) {
    Thread cleanup = new Thread(cleanUp, "bench-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    int status = 0;
    String result = null;
    try {
      result = body.run();
    } catch (Exception | AssertionError e) {
      System.out.println(benchmark + " benchmark FAILED: " + e);
      e.printStackTrace(System.out);
      status = 1;
    } finally {
      Runtime.getRuntime().removeShutdownHook(cleanup);
      cleanUp.run();
    }
    if (result != null) {
      say("%s", result);
    }
    System.exit(status);
  }
}
