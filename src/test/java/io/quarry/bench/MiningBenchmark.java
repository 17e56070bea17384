package io.quarry.bench;

import static io.quarry.bench.BenchSupport.check;
import static io.quarry.bench.BenchSupport.f0;
import static io.quarry.bench.BenchSupport.median;
import static io.quarry.bench.BenchSupport.say;

import com.rabbitmq.client.Channel;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.quarry.bus.BusNames;
import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
import io.quarry.platform.sim.PlatformSimulator;
import io.quarry.security.TokenCipher;
import io.quarry.support.Services;
import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.StandardEnvironment;

/**
 * The end-to-end mining benchmark ({@code bench/run mining}); not a test. Starts the simulated
 * platform API in this JVM ({@code PlatformSimulator}, 50 ms per page, 5 pages of 20 items per
 * user) and a real Quarry context against the machine's PostgreSQL and RabbitMQ in an environment
 * and schema of its own ({@code benchmining} + random hex, removed at the end). One tick of the
 * posts scheduler fans {@value #DEFAULT_USERS} users out; the round ends when every chain is
 * completed, {@code raw_item} holds every item and {@code analytics_daily} counts every item,
 * exactly as in production (miners publish one data batch per mining message (the pages it fetched)
 * to the data topic; raw storage, analytics and notification consume it). It prints pages/s end to
 * end beside the latency-bound limit of the configured concurrency (consumers x 1 s / latency),
 * where the CPU went (per process and, in this JVM, per thread group), the queue depths over time,
 * and the bottleneck. The last line is {@code RESULT mining key=value ...}.
 */
public final class MiningBenchmark {

  static final int DEFAULT_USERS = 10_000;
  static final String STREAM = "posts";
  static final int ITEMS_PER_PAGE = 20; // the simulator's page, below the stream's limit of 100
  static final double TARGET_PAGES_PER_SECOND = 2_000;
  static final int THREAD_SAMPLE_MILLIS = 1_000;

  /**
   * The warm-up repeats until the JIT compiled for less than this share of a warm-up round's time
   * (HotSpot's compilation time, summed over its compiler threads).
   */
  static final double WARM_JIT_SHARE = 0.10;

  /** Sizes and settings of one run; each can be overridden with {@code -Dbench.mining.<name>}. */
  record Settings(
      int users,
      int pages,
      int latencyMillis,
      int consumers,
      Integer prefetch,
      int pagesPerMessage,
      Integer subscriberConsumers,
      Integer poolSize,
      int simulatorThreads,
      boolean simulatorNoDelay,
      int listenerThreads,
      int rounds,
      int warmupUsers,
      int warmupMaxRounds,
      int maxSeconds,
      int progressSeconds,
      String extraArgs) {

    static Settings fromSystemProperties() {
      int consumers = Integer.getInteger("bench.mining.consumers", 192);
      return new Settings(
          Integer.getInteger("bench.mining.users", DEFAULT_USERS),
          Integer.getInteger("bench.mining.pages", 5),
          Integer.getInteger("bench.mining.latency-ms", 50),
          consumers,
          Integer.getInteger("bench.mining.prefetch"),
          Integer.getInteger("bench.mining.pages-per-message", 5),
          Integer.getInteger("bench.mining.subscriber-consumers"),
          Integer.getInteger("bench.mining.pool-size"),
          Integer.getInteger(
              "bench.mining.simulator-threads", Math.max(stockSimulatorThreads(), consumers)),
          Boolean.parseBoolean(System.getProperty("bench.mining.simulator-nodelay", "true")),
          Integer.getInteger("bench.mining.listener-threads", 0),
          Integer.getInteger("bench.mining.rounds", 3),
          Integer.getInteger("bench.mining.warmup-users", 2_000),
          Integer.getInteger("bench.mining.warmup-max-rounds", 12),
          Integer.getInteger("bench.mining.max-seconds", 240),
          Integer.getInteger("bench.mining.progress-s", 10),
          System.getProperty("bench.mining.extra-args", "").trim());
    }

    List<String> quarryArgs(String baseUrl) {
      List<String> args = new ArrayList<>();
      args.add("--quarry.platform.base-url=" + baseUrl);
      args.add("--quarry.mining.consumers=" + consumers);
      args.add("--quarry.streams." + STREAM + ".pages-per-message=" + pagesPerMessage);
      if (prefetch != null) {
        args.add("--quarry.mining.prefetch=" + prefetch);
      }
      if (subscriberConsumers != null) {
        args.add("--quarry.mining.subscriber-consumers=" + subscriberConsumers);
      }
      if (poolSize != null) {
        args.add("--quarry.database.pool-size=" + poolSize);
      }
      if (!extraArgs.isEmpty()) {
        args.addAll(List.of(extraArgs.split("\\s+")));
      }
      return args;
    }
  }

  /** What one round measured. */
  record Round(
      int users,
      long pages,
      long pagesMined,
      boolean complete,
      double seconds,
      double minedSeconds,
      CpuSampler.Shares cpu,
      Map<String, Long> maxDepth,
      double simulatorPercent,
      ThreadActivity.Summary threads,
      double jitSeconds) {

    double pagesPerSecond() {
      return pages / seconds;
    }

    /** CPU milliseconds per page (mined, in a round stopped at the time limit) of one process. */
    double cpuMillisPerPage(double percent) {
      return percent / 100.0 * seconds * 1000.0 / Math.max(1, complete ? pages : pagesMined);
    }
  }

  /** HotSpot's JIT, or null on a JVM that does not report its compilation time. */
  private static final CompilationMXBean JIT = jit();

  private static CompilationMXBean jit() {
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit : null;
  }

  /** Milliseconds the JIT has compiled since the JVM started (0 when it does not say). */
  private static long jitMillis() {
    return JIT == null ? 0 : JIT.getTotalCompilationTime();
  }

  private final Settings settings;
  private final String name = BenchSupport.newName("benchmining");
  private final Services services = Services.from(new StandardEnvironment());

  private PlatformSimulator simulator;
  private ConfigurableApplicationContext context;
  private ProducerTemplate producer;
  private BusNames names;
  private TokenCipher cipher;
  private List<String> queues;

  private MiningBenchmark(Settings settings) {
    this.settings = settings;
  }

  public static void main(String[] args) {
    Settings settings = Settings.fromSystemProperties();
    if (settings.simulatorNoDelay()) {
      // The JDK's HTTP server writes the headers and the body of an answer separately; with Nagle's
      // algorithm on, the body then waits for the client's delayed ACK (~40 ms on Linux), so every
      // page would take ~90 ms instead of 50. Read once, when the server class first loads.
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
    MiningBenchmark benchmark = new MiningBenchmark(settings);
    BenchSupport.runMainWithResult("mining", benchmark::run, benchmark::cleanUp);
  }

  /** Runs the benchmark and returns its RESULT line. */
  private String run() throws Exception {
    say("Mining benchmark, environment and schema '%s'", name);
    BenchSupport.describeMachine(services);
    Duration latency = Duration.ofMillis(settings.latencyMillis());
    simulator =
        simulator(settings.simulatorThreads()).latency(latency).defaultPages(settings.pages());
    double measuredLatency = probeLatency(simulator);
    say(
        "simulated API on %s: %d ms per page asked, %.1f ms measured (median of 20 sequential"
            + " pages, TCP_NODELAY %s), %d pages of %d items per user, %d server threads%s",
        simulator.baseUrl(),
        settings.latencyMillis(),
        measuredLatency,
        settings.simulatorNoDelay() ? "on" : "off",
        settings.pages(),
        ITEMS_PER_PAGE,
        settings.simulatorThreads(),
        settings.simulatorThreads() == stockSimulatorThreads()
            ? ""
            : " (PlatformSimulator has "
                + stockSimulatorThreads()
                + ", i.e. at most "
                + f0(limit(stockSimulatorThreads()))
                + " pages/s at this latency; the benchmark gives it as many as consumers)");

    ExecutorService listenerPool =
        settings.listenerThreads() > 0 ? listenerPool(settings.listenerThreads()) : null;
    context =
        BenchSupport.startQuarry(
            name,
            settings.quarryArgs(simulator.baseUrl().toString()),
            c -> {
              if (listenerPool != null) {
                c.getBeanFactory().addBeanPostProcessor(new ListenerExecutor(listenerPool));
              }
            });
    CamelContext camel = context.getBean(CamelContext.class);
    producer = camel.createProducerTemplate();
    names = context.getBean(BusNames.class);
    cipher = context.getBean(TokenCipher.class);
    QuarryProperties properties = context.getBean(QuarryProperties.class);
    var mining = properties.mining();
    queues = new ArrayList<>();
    queues.add(names.miningQueue(STREAM));
    for (String subscriber : properties.streams().get(STREAM).subscribers()) {
      queues.add(names.subscriberQueue(STREAM, subscriber));
    }
    double latencyLimit = limit(mining.consumers());
    say(
        "settings: consumers=%d prefetch=%d pages-per-message=%d subscriber-consumers=%d (prefetch"
            + " 20) db pool-size=%d; latency-bound limit %d consumers x (1000 ms / %d ms) = %s"
            + " pages/s",
        mining.consumers(),
        mining.prefetch(),
        properties.streams().get(STREAM).pagesPerMessage(),
        mining.subscriberConsumers(),
        properties.database().poolSize(),
        mining.consumers(),
        settings.latencyMillis(),
        f0(latencyLimit));
    if (!settings.extraArgs().isEmpty()) {
      say("extra Quarry arguments (NOT production settings): %s", settings.extraArgs());
    }
    say(
        "listener threads: %s",
        listenerPool == null
            ? "Quarry's own (camel-spring-rabbitmq's DirectMessageListenerContainer runs every"
                + " listener on the connection factory's executor; without one, amqp-client's pool"
                + " of max(1, processors) = "
                + Math.max(1, Runtime.getRuntime().availableProcessors())
                + " threads)"
            : settings.listenerThreads()
                + " (NOT production: -Dbench.mining.listener-threads replaces the connection"
                + " factory's executor with a fixed pool of that size)");

    int warmupRounds = settings.warmupUsers() > 0 ? warmUp() : 0;
    List<Round> rounds = new ArrayList<>();
    for (int i = 1; i <= settings.rounds(); i++) {
      Round round = round("user", settings.users(), true);
      rounds.add(round);
      if (round.complete()) {
        say(
            "round %d: %s pages in %.1f s = %s pages/s end to end (every chain completed after"
                + " %.1f s)",
            i,
            f0(round.pages()),
            round.seconds(),
            f0(round.pagesPerSecond()),
            round.minedSeconds());
      } else {
        say(
            "round %d: STOPPED at the time limit (bench.mining.max-seconds=%d): %s of %s pages"
                + " stored and counted in %.1f s = %s pages/s end to end; %s pages mined = %s"
                + " pages/s",
            i,
            settings.maxSeconds(),
            f0(round.pages()),
            f0((long) round.users() * settings.pages()),
            round.seconds(),
            f0(round.pagesPerSecond()),
            f0(round.pagesMined()),
            f0(round.pagesMined() / round.seconds()));
      }
      report(round, latencyLimit, measuredLatency);
      if (!round.complete()) {
        break; // its messages are still in flight: a next round would not start clean
      }
    }

    double pagesPerSecond = median(rounds.stream().mapToDouble(Round::pagesPerSecond).toArray());
    double seconds = median(rounds.stream().mapToDouble(Round::seconds).toArray());
    boolean complete = rounds.stream().allMatch(Round::complete);
    Round typical =
        rounds.stream()
            .min(
                (a, b) ->
                    Double.compare(
                        Math.abs(a.pagesPerSecond() - pagesPerSecond),
                        Math.abs(b.pagesPerSecond() - pagesPerSecond)))
            .orElseThrow();
    CpuSampler.Shares cpu = typical.cpu();
    double quarryPercent = cpu.of("quarry-jvm") - typical.simulatorPercent();
    double cpuPerPage =
        typical.cpuMillisPerPage(
            quarryPercent + cpu.of("postgres") + cpu.of("rabbitmq") + cpu.of("other"));
    double cpuLimit = Runtime.getRuntime().availableProcessors() * 1000.0 / cpuPerPage;
    // What the rest of the machine costs per page (Quarry's statements in PostgreSQL, its messages
    // in RabbitMQ, the simulated API that shares these cores): the ceiling even if Quarry's own
    // code took no CPU at all.
    double othersPerPage =
        typical.cpuMillisPerPage(
            cpu.of("postgres") + cpu.of("rabbitmq") + cpu.of("other") + typical.simulatorPercent());
    double othersLimit = Runtime.getRuntime().availableProcessors() * 1000.0 / othersPerPage;
    String bottleneck = bottleneck(typical, latencyLimit, measuredLatency);
    ThreadActivity.Summary threads = typical.threads();

    say("");
    say(
        "Summary (median of %d round(s), %s users x %d pages x %d items, %d ms per page, load"
            + " average %s):",
        rounds.size(),
        f0(settings.users()),
        settings.pages(),
        ITEMS_PER_PAGE,
        settings.latencyMillis(),
        BenchSupport.loadAverage());
    say(
        "  end to end           %s pages/s (%s%s pages, %s items stored and counted, %.1f s)%s",
        f0(pagesPerSecond),
        complete ? "" : "STOPPED at the time limit: ",
        f0(typical.pages()),
        f0(typical.pages() * ITEMS_PER_PAGE),
        seconds,
        complete
            ? ""
            : String.format(
                Locale.ROOT,
                "; %s pages mined = %s pages/s",
                f0(typical.pagesMined()),
                f0(typical.pagesMined() / typical.seconds())));
    say(
        "  latency-bound limit  %s pages/s (%d consumers x 1000 ms / %d ms); ratio %.3f",
        f0(latencyLimit),
        mining.consumers(),
        settings.latencyMillis(),
        pagesPerSecond / latencyLimit);
    say(
        "  concurrency reached  %.1f miners busy on average (%.1f waiting for the API), %.1f"
            + " subscribers busy, %d distinct listener threads",
        threads.miners(), threads.fetching(), threads.subscribers(), threads.listenerThreads());
    if (complete) {
      say(
          "  CPU per page         %.2f ms (Quarry %.2f, PostgreSQL %.2f, RabbitMQ %.2f, other %.2f;"
              + " the simulated API's %.2f not counted): %d cores allow ~%s pages/s",
          cpuPerPage,
          typical.cpuMillisPerPage(quarryPercent),
          typical.cpuMillisPerPage(cpu.of("postgres")),
          typical.cpuMillisPerPage(cpu.of("rabbitmq")),
          typical.cpuMillisPerPage(cpu.of("other")),
          typical.cpuMillisPerPage(typical.simulatorPercent()),
          Runtime.getRuntime().availableProcessors(),
          f0(cpuLimit));
      say(
          "  without Quarry       %.2f ms per page for PostgreSQL, RabbitMQ, the simulated API and"
              + " other processes: even if Quarry's own code took no CPU, %d cores would allow"
              + " ~%s pages/s",
          othersPerPage, Runtime.getRuntime().availableProcessors(), f0(othersLimit));
    } else {
      say(
          "  CPU per page         %.2f ms per page mined (storage mostly not done yet: no CPU"
              + " ceiling can be drawn from a round stopped at the time limit)",
          cpuPerPage);
    }
    say(
        "  target               >= %s pages/s: %s",
        f0(TARGET_PAGES_PER_SECOND), BenchSupport.verdict(pagesPerSecond, TARGET_PAGES_PER_SECOND));
    say("  bottleneck           %s", bottleneck);
    return String.format(
        Locale.ROOT,
        "RESULT mining pages_per_s=%.0f latency_limit_pages_per_s=%.0f ratio=%.3f seconds=%.1f"
            + " complete=%s mined_pages_per_s=%.0f users=%d pages=%d items=%d latency_ms=%d measured_latency_ms=%.1f"
            + " consumers=%d prefetch=%d pages_per_message=%d subscriber_consumers=%d pool_size=%d"
            + " listener_threads=%s busy_miners=%.1f simulator_threads=%d cpu_ms_per_page=%.2f"
            + " cpu_limit_pages_per_s=%s without_quarry_limit_pages_per_s=%s cpu_busy_pct=%.0f"
            + " quarry_cpu_pct=%.0f"
            + " postgres_cpu_pct=%.0f rabbitmq_cpu_pct=%.0f simulator_cpu_pct=%.0f rounds=%d"
            + " warmup_rounds=%d jit_s=%.1f bottleneck=%s",
        pagesPerSecond,
        latencyLimit,
        pagesPerSecond / latencyLimit,
        seconds,
        complete,
        median(rounds.stream().mapToDouble(r -> r.pagesMined() / r.seconds()).toArray()),
        settings.users(),
        settings.pages(),
        (long) settings.users() * settings.pages() * ITEMS_PER_PAGE,
        settings.latencyMillis(),
        measuredLatency,
        mining.consumers(),
        mining.prefetch(),
        properties.streams().get(STREAM).pagesPerMessage(),
        mining.subscriberConsumers(),
        properties.database().poolSize(),
        settings.listenerThreads() > 0 ? Integer.toString(settings.listenerThreads()) : "quarry",
        threads.miners(),
        settings.simulatorThreads(),
        cpuPerPage,
        complete ? String.format(Locale.ROOT, "%.0f", cpuLimit) : "na",
        complete ? String.format(Locale.ROOT, "%.0f", othersLimit) : "na",
        cpu.machineBusyPercent(),
        quarryPercent,
        cpu.of("postgres"),
        cpu.of("rabbitmq"),
        typical.simulatorPercent(),
        rounds.size(),
        warmupRounds,
        typical.jitSeconds(),
        bottleneck.substring(0, bottleneck.indexOf(':')));
  }

  /** Pages per second that {@code concurrency} sequential callers get at the API's latency. */
  private double limit(int concurrency) {
    return concurrency * 1000.0 / settings.latencyMillis();
  }

  // ---------------------------------------------------------------------------------------------
  // One round

  /**
   * Uncounted rounds of {@code warmup-users} until the JIT is done with the hot paths: it compiled
   * for less than {@link #WARM_JIT_SHARE} of the last round's time, or {@code warmup-max-rounds}
   * were run. On 2 busy cores C2 takes about a minute of mining to settle; a first round measured
   * before that spent a third of a core compiling and took twice Quarry's CPU per page.
   */
  private int warmUp() throws Exception {
    for (int i = 1; ; i++) {
      Round warmup = round("warm", settings.warmupUsers(), false);
      double jitShare = warmup.jitSeconds() / warmup.seconds();
      say(
          "warm-up %d (not counted): %s users, %.1f s = %s pages/s%s, JIT compiling %.0f%% of the"
              + " time",
          i,
          f0(warmup.users()),
          warmup.seconds(),
          f0(warmup.pagesPerSecond()),
          warmup.complete() ? "" : " (stopped at the time limit)",
          100 * jitShare);
      if (!warmup.complete()) {
        throw new IllegalStateException(
            "the warm-up did not finish within bench.mining.max-seconds: use fewer warm-up users");
      }
      if (JIT == null) {
        say("  this JVM does not report its JIT's compilation time: one warm-up round only");
        return i;
      }
      if (jitShare < WARM_JIT_SHARE) {
        return i;
      }
      if (i >= settings.warmupMaxRounds()) {
        say(
            "  the JIT was still compiling after %d warm-up rounds (bench.mining.warmup-max-rounds):"
                + " the first round may understate a warm instance",
            i);
        return i;
      }
    }
  }

  /**
   * Mines {@code users} fresh users (earlier rounds' users are deactivated, stored data removed):
   * one tick, then until every chain is completed and every item is stored and counted, or until
   * {@code bench.mining.max-seconds} (then the pages stored and counted so far are the figure).
   */
  private Round round(String prefix, int users, boolean print) throws Exception {
    long expectedPages = (long) users * settings.pages();
    long expectedItems = expectedPages * ITEMS_PER_PAGE;
    try (Connection db = services.jdbc();
        com.rabbitmq.client.Connection amqp = services.amqp();
        Channel channel = amqp.createChannel()) {
      try (Statement s = db.createStatement()) {
        s.execute("set search_path to " + name);
        s.execute("update app_user set active = false");
        s.execute("truncate raw_item, analytics_daily, processed_message, mining_state");
      }
      insertUsers(db, prefix, users);
      try (Statement s = db.createStatement()) {
        // Only the users table: the truncated ones stay "never analysed", as in a fresh deployment,
        // so the planner sizes them by their blocks until autovacuum analyses them as they grow. A
        // vacuum now would record them as known to be empty, and the generic plans of the
        // application's prepared statements, made early in the round, would scan them (or pick the
        // wrong index) for the whole round.
        s.execute("vacuum analyze app_user");
        s.execute("checkpoint");
      }
      for (String queue : queues) {
        check(channel.queueDeclarePassive(queue).getMessageCount() == 0, queue + " is not empty");
      }

      Map<String, Long> maxDepth = new LinkedHashMap<>();
      // Every sample stops this JVM at a safepoint and walks ~300 stacks: at 250 ms that was ~1.3%
      // of the machine's CPU, charged to Quarry; once a second it costs a quarter of that.
      ThreadActivity activity = new ThreadActivity(THREAD_SAMPLE_MILLIS);
      CpuSampler.Snapshot start = CpuSampler.take();
      CpuSampler.Snapshot last = start;
      long jitMillisAtStart = jitMillis();
      long t0 = System.nanoTime();
      producer.sendBody(FlowEndpoints.schedulerWorker(STREAM), null);
      double fanOut = (System.nanoTime() - t0) / 1e9;
      if (print) {
        say("  tick: %s users fanned out in %.2f s", f0(users), fanOut);
      }
      long deadline = t0 + TimeUnit.SECONDS.toNanos(settings.maxSeconds());
      long nextReport = t0 + TimeUnit.SECONDS.toNanos(settings.progressSeconds());
      long lastPages = 0;
      double minedAt = Double.NaN;
      long nextCount = 0;
      boolean complete = false;
      while (true) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(Double.isNaN(minedAt) ? 500 : 100));
        long now = System.nanoTime();
        if (now >= deadline) {
          break;
        }
        Map<String, Long> chains = chains(db);
        long done = chains.getOrDefault("completed", 0L);
        long bad = chains.getOrDefault("failed", 0L) + chains.getOrDefault("stopped", 0L);
        check(bad == 0, "chains failed or stopped: " + chains + ", " + failures(db));
        if (Double.isNaN(minedAt) && done == users) {
          minedAt = (now - t0) / 1e9;
        }
        // Counting a million rows costs PostgreSQL CPU that storage needs: count only once the
        // subscriber queues have nothing ready, and at most once a second.
        if (!Double.isNaN(minedAt) && now >= nextCount && subscriberQueuesDrained(channel)) {
          nextCount = now + TimeUnit.SECONDS.toNanos(1);
          if (count(db, "select count(*) from raw_item") == expectedItems
              && count(db, "select coalesce(sum(items), 0) from analytics_daily")
                  == expectedItems) {
            complete = true;
            break;
          }
        }
        if (now >= nextReport) {
          Map<String, Long> depths = new LinkedHashMap<>();
          for (String queue : queues) {
            long depth = channel.queueDeclarePassive(queue).getMessageCount();
            depths.put(shortName(queue), depth);
            maxDepth.merge(shortName(queue), depth, Math::max);
          }
          long pages = count(db, "select coalesce(sum(pages_mined), 0) from mining_state");
          CpuSampler.Snapshot snapshot = CpuSampler.take();
          CpuSampler.Shares interval = CpuSampler.between(last, snapshot);
          if (print) {
            say(
                "  %5.1f s: chains %s/%s completed, pages mined %s (%s/s) | ready messages %s |"
                    + " CPU %s",
                (now - t0) / 1e9,
                f0(done),
                f0(users),
                f0(pages),
                f0((pages - lastPages) / interval.seconds()),
                depths,
                interval.processLine());
          }
          lastPages = pages;
          last = snapshot;
          nextReport = now + TimeUnit.SECONDS.toNanos(settings.progressSeconds());
        }
      }
      long end = System.nanoTime();
      CpuSampler.Shares cpu = CpuSampler.between(start, CpuSampler.take());
      double jitSeconds = (jitMillis() - jitMillisAtStart) / 1000.0;
      activity.close();
      long pages;
      long mined = count(db, "select coalesce(sum(pages_mined), 0) from mining_state");
      if (complete) {
        verify(db, users, expectedPages);
        pages = expectedPages;
      } else {
        // Pages stored and counted so far: whole pages in both raw_item and analytics_daily.
        long stored =
            Math.min(
                count(db, "select count(*) from raw_item"),
                count(db, "select coalesce(sum(items), 0) from analytics_daily"));
        pages = stored / ITEMS_PER_PAGE;
      }
      double simulatorPercent =
          cpu.threadPercent().entrySet().stream()
              .filter(e -> e.getKey().startsWith("platform-sim-") || e.getKey().startsWith("HTTP-"))
              .mapToDouble(Map.Entry::getValue)
              .sum();
      return new Round(
          users,
          pages,
          mined,
          complete,
          (end - t0) / 1e9,
          minedAt,
          cpu,
          maxDepth,
          simulatorPercent,
          activity.summary(),
          jitSeconds);
    }
  }

  private void report(Round round, double latencyLimit, double measuredLatency) {
    CpuSampler.Shares cpu = round.cpu();
    ThreadActivity.Summary threads = round.threads();
    say(
        "  CPU over the round: %s; the JIT compiled for %.1f s (%.0f%% of the round)",
        cpu.processLine(), round.jitSeconds(), 100 * round.jitSeconds() / round.seconds());
    say(
        "  CPU per page: Quarry %.2f ms (without the simulated API's %.2f ms), PostgreSQL %.2f ms,"
            + " RabbitMQ %.2f ms",
        round.cpuMillisPerPage(cpu.of("quarry-jvm") - round.simulatorPercent()),
        round.cpuMillisPerPage(round.simulatorPercent()),
        round.cpuMillisPerPage(cpu.of("postgres")),
        round.cpuMillisPerPage(cpu.of("rabbitmq")));
    say("  busiest thread groups of this JVM: %s", cpu.threadLine(8));
    say(
        "  threads (sampled every %d ms): %.1f miners busy on average, %.1f of them waiting for"
            + " the API; %.1f subscribers busy; %d distinct threads delivered to listeners",
        THREAD_SAMPLE_MILLIS,
        threads.miners(),
        threads.fetching(),
        threads.subscribers(),
        threads.listenerThreads());
    say("  most ready messages seen: %s", round.maxDepth());
    say("  bottleneck: %s", bottleneck(round, latencyLimit, measuredLatency));
  }

  /**
   * The limiting resource as measured: the configured concurrency, the CPU, the listener threads
   * (fewer miners at work than consumers configured, CPU to spare), or the subscribers.
   */
  private String bottleneck(Round round, double latencyLimit, double measuredLatency) {
    CpuSampler.Shares cpu = round.cpu();
    ThreadActivity.Summary threads = round.threads();
    int cores = Runtime.getRuntime().availableProcessors();
    double rate = round.pagesPerSecond();
    double simulatorLimit = limit(settings.simulatorThreads());
    if (rate >= 0.85 * Math.min(latencyLimit, simulatorLimit)) {
      return latencyLimit <= simulatorLimit
          ? String.format(
              Locale.ROOT,
              "concurrency: %.0f%% of the latency-bound limit of %d consumers; more consumers (and"
                  + " CPU for them) go faster",
              100 * rate / latencyLimit,
              settings.consumers())
          : String.format(
              Locale.ROOT,
              "simulator: %.0f%% of what %d simulator threads serve at %d ms",
              100 * rate / simulatorLimit,
              settings.simulatorThreads(),
              settings.latencyMillis());
    }
    if (threads.miners() >= 0.9 * settings.consumers() && cpu.machineBusyPercent() < 90.0 * cores) {
      // Below 85% of the nominal limit, yet nearly every miner busy and a tenth of the cores idle:
      // the measured latency, the tick and the round's tail take the rest (on 2 cores, 128
      // consumers at ~175% busy gave 1,950-2,060 pages/s, 192 at ~188% 2,260-2,580).
      return String.format(
          Locale.ROOT,
          "concurrency: %.1f of %d miners busy (%.1f of them waiting for the API at %.0f ms a"
              + " page) while the CPU was %.0f%% busy of %d00%%; more consumers go faster",
          threads.miners(),
          settings.consumers(),
          threads.fetching(),
          measuredLatency,
          cpu.machineBusyPercent(),
          cores);
    }
    if (cpu.machineBusyPercent() >= 85.0 * cores) {
      double quarry = cpu.of("quarry-jvm") - round.simulatorPercent();
      Map<String, Double> shares = new LinkedHashMap<>();
      shares.put("Quarry's JVM", quarry);
      shares.put("PostgreSQL", cpu.of("postgres"));
      shares.put("RabbitMQ", cpu.of("rabbitmq"));
      shares.put("the simulated API", round.simulatorPercent());
      String biggest =
          shares.entrySet().stream()
              .max(Map.Entry.comparingByValue())
              .map(Map.Entry::getKey)
              .orElseThrow();
      return String.format(
          Locale.ROOT,
          "cpu: the machine is saturated (busy %.0f%% of %d00%%) at %.0f%% of the latency-bound"
              + " limit, with %.1f of %d miners busy; the largest share is %s (Quarry %.0f%%,"
              + " PostgreSQL %.0f%%, RabbitMQ %.0f%%, simulated API %.0f%%)",
          cpu.machineBusyPercent(),
          cores,
          100 * rate / latencyLimit,
          threads.miners(),
          settings.consumers(),
          biggest,
          quarry,
          cpu.of("postgres"),
          cpu.of("rabbitmq"),
          round.simulatorPercent());
    }
    if (threads.miners() < 0.5 * settings.consumers()) {
      return String.format(
          Locale.ROOT,
          "listener-threads: only %.1f of %d miners were at work on average (%d distinct threads"
              + " delivered messages) while the CPU was %.0f%% busy of %d00%%: every listener of"
              + " the consumer connection (miners, subscribers, dead letters) shares %s; at %.0f ms"
              + " a page that allows ~%s pages/s",
          threads.miners(),
          settings.consumers(),
          threads.listenerThreads(),
          cpu.machineBusyPercent(),
          cores,
          settings.listenerThreads() > 0
              ? settings.listenerThreads() + " threads of the benchmark's executor"
              : "the connection factory's executor (camel-spring-rabbitmq's default"
                  + " DirectMessageListenerContainer calls listeners on it; without one,"
                  + " amqp-client's pool of max(1, processors) = "
                  + Math.max(1, cores)
                  + " threads)",
          measuredLatency,
          f0(threads.fetching() * 1000.0 / measuredLatency));
    }
    long backlog =
        round.maxDepth().entrySet().stream()
            .filter(e -> !e.getKey().contains("mining"))
            .mapToLong(Map.Entry::getValue)
            .max()
            .orElse(0);
    if (backlog > 1000) {
      return String.format(
          Locale.ROOT,
          "subscribers: up to %s batches waited in a subscriber queue; storage lagged %.1f s behind"
              + " mining (CPU busy %.0f%%)",
          f0(backlog),
          round.seconds() - round.minedSeconds(),
          cpu.machineBusyPercent());
    }
    return String.format(
        Locale.ROOT,
        "unclear: %.0f%% of the latency-bound limit, CPU busy %.0f%% of %d00%%, iowait %.0f%%,"
            + " %.1f miners busy",
        100 * rate / latencyLimit,
        cpu.machineBusyPercent(),
        cores,
        cpu.machineIowaitPercent(),
        threads.miners());
  }

  private boolean subscriberQueuesDrained(Channel channel) throws IOException {
    for (String queue : queues.subList(1, queues.size())) {
      if (channel.queueDeclarePassive(queue).getMessageCount() > 0) {
        return false;
      }
    }
    return true;
  }

  /** Every chain completed at the end of its data, with every page and item. */
  private void verify(Connection db, int users, long expectedPages) throws Exception {
    Map<String, Long> chains = chains(db);
    check(chains.getOrDefault("completed", 0L) == users, "chains: " + chains);
    check(
        count(
                db,
                "select count(*) from mining_state where stop_reason = 'end_of_data' and pages_mined"
                    + " = "
                    + settings.pages()
                    + " and items_mined = "
                    + settings.pages() * ITEMS_PER_PAGE)
            == users,
        "not every chain ended at the end of its data with every page");
    check(count(db, "select coalesce(sum(pages_mined), 0) from mining_state") == expectedPages, "");
    check(count(db, "select count(*) from dead_letter") == 0, "dead letters: " + failures(db));
  }

  private static Map<String, Long> chains(Connection db) throws Exception {
    Map<String, Long> chains = new LinkedHashMap<>();
    try (Statement s = db.createStatement();
        ResultSet rs =
            s.executeQuery("select status, count(*) from mining_state group by status")) {
      while (rs.next()) {
        chains.put(rs.getString(1), rs.getLong(2));
      }
    }
    return chains;
  }

  private static String failures(Connection db) throws Exception {
    List<String> rows = new ArrayList<>();
    try (Statement s = db.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select status, stop_reason, last_error from mining_state where status in"
                    + " ('failed', 'stopped') limit 3")) {
      while (rs.next()) {
        rows.add(rs.getString(1) + "/" + rs.getString(2) + ": " + rs.getString(3));
      }
    }
    try (Statement s = db.createStatement();
        ResultSet rs = s.executeQuery("select reason from dead_letter limit 3")) {
      while (rs.next()) {
        rows.add("dead letter: " + rs.getString(1));
      }
    }
    return rows.toString();
  }

  private static long count(Connection db, String sql) throws Exception {
    try (Statement s = db.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Users with encrypted tokens, as UserRepository stores them, in one transaction. */
  private void insertUsers(Connection db, String prefix, int users) throws Exception {
    db.setAutoCommit(false);
    try (PreparedStatement insert =
        db.prepareStatement(
            "insert into app_user (external_id, access_token, active) values (?, ?, true)"
                + " on conflict (external_id) do update set active = true,"
                + " access_token = excluded.access_token")) {
      for (int i = 1; i <= users; i++) {
        insert.setString(1, "bench-" + prefix + "-" + i);
        insert.setBytes(2, cipher.encrypt("token-" + prefix + "-" + i));
        insert.addBatch();
        if (i % 1000 == 0) {
          insert.executeBatch();
        }
      }
      insert.executeBatch();
      db.commit();
    } finally {
      db.setAutoCommit(true);
    }
  }

  private String shortName(String queue) {
    String base = names.baseOf(queue);
    return base.startsWith(STREAM + "-data-topic.")
        ? base.substring((STREAM + "-data-topic.").length())
        : base.startsWith(STREAM + "-mining-queue") ? "mining" : base;
  }

  // ---------------------------------------------------------------------------------------------
  // The simulated API

  /** Median time of 20 sequential page requests (after 5 to open the connection). */
  static double probeLatency(PlatformSimulator simulator) throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest request =
        HttpRequest.newBuilder(
                URI.create(simulator.baseUrl() + "/users/latency-probe/" + STREAM + "?limit=100"))
            .header("Authorization", "Bearer probe")
            .build();
    double[] millis = new double[20];
    for (int i = -5; i < millis.length; i++) {
      long start = System.nanoTime();
      HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
      check(response.statusCode() == 200, "the simulated API answered " + response.statusCode());
      if (i >= 0) {
        millis[i] = (System.nanoTime() - start) / 1e6;
      }
    }
    return median(millis);
  }

  /** PlatformSimulator's fixed number of server threads (each sleeps the latency per request). */
  static int stockSimulatorThreads() {
    try {
      Field threads = PlatformSimulator.class.getDeclaredField("THREADS");
      threads.setAccessible(true);
      return threads.getInt(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return 32;
    }
  }

  /**
   * The simulated API. Its server threads sleep the latency of each request, so {@code threads}
   * bound the pages per second it can serve ({@code threads x 1 s / latency}); with more than the
   * stock number the benchmark builds the same simulator (same handler, data and faults) on a
   * larger pool, since PlatformSimulator offers no setting for it.
   */
  static PlatformSimulator simulator(int threads) throws Exception {
    if (threads <= stockSimulatorThreads()) {
      return PlatformSimulator.start(0);
    }
    AtomicInteger number = new AtomicInteger();
    ExecutorService executor =
        Executors.newFixedThreadPool(
            threads,
            task -> {
              Thread thread = new Thread(task, "platform-sim-" + number.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
    Constructor<PlatformSimulator> constructor =
        PlatformSimulator.class.getDeclaredConstructor(HttpServer.class, ExecutorService.class);
    constructor.setAccessible(true);
    PlatformSimulator simulator = constructor.newInstance(server, executor);
    Constructor<?> handler =
        Class.forName("io.quarry.platform.sim.SimulatorHandler")
            .getDeclaredConstructor(PlatformSimulator.class);
    handler.setAccessible(true);
    server.createContext("/", (HttpHandler) handler.newInstance(simulator));
    server.setExecutor(executor);
    server.start();
    return simulator;
  }

  // ---------------------------------------------------------------------------------------------
  // What-if: more listener threads (not production)

  private static ExecutorService listenerPool(int threads) {
    AtomicInteger number = new AtomicInteger();
    return Executors.newFixedThreadPool(
        threads,
        task -> {
          Thread thread = new Thread(task, "bench-listener-" + number.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
  }

  /**
   * Replaces the executor of Quarry's connection factory (its connections' consumer dispatch, on
   * which a DirectMessageListenerContainer runs its listeners) with a fixed pool, to measure how
   * the listener threads limit mining.
   */
  private record ListenerExecutor(ExecutorService pool) implements BeanPostProcessor {
    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
      if (bean instanceof CachingConnectionFactory factory) {
        factory.setExecutor(pool);
      }
      return bean;
    }
  }

  private synchronized void cleanUp() {
    if (producer != null) {
      try {
        producer.close();
      } catch (IOException ignored) {
        // closed with the context anyway
      }
      producer = null;
    }
    if (context != null) {
      // Stopping 3 x consumers listener consumers logs a warning per consumer whose cancel is not
      // answered in time (their threads are busy), and a round stopped at the time limit leaves
      // deliveries in flight whose acks fail once their channels are closed: none is a figure.
      LoggingSystem logging = LoggingSystem.get(getClass().getClassLoader());
      logging.setLogLevel("org.apache.camel.component.springrabbit", LogLevel.OFF);
      logging.setLogLevel("org.springframework.amqp", LogLevel.OFF);
      long start = System.nanoTime();
      context.close();
      say("(Quarry context closed in %.1f s)", (System.nanoTime() - start) / 1e9);
      context = null;
    }
    if (simulator != null) {
      simulator.close();
      simulator = null;
    }
    BenchSupport.dropEnvironment(services, name, "benchmining");
  }
}
