package io.quarry.bench;

import static io.quarry.bench.BenchSupport.check;
import static io.quarry.bench.BenchSupport.f0;
import static io.quarry.bench.BenchSupport.median;
import static io.quarry.bench.BenchSupport.say;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
import io.quarry.support.Services;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The fan-out benchmark ({@code bench/run fanout}); not a test. Starts a real Quarry context
 * against the machine's PostgreSQL and RabbitMQ in an environment and schema of its own ({@code
 * benchfanout} + random hex, removed at the end), with {@value #DEFAULT_USERS} active users and
 * only the {@code posts-scheduler} route started (no miner consumes), and measures one scheduler
 * tick: page by page, read active users, claim them, publish one confirmed mining message per user
 * in batches of {@code quarry.mining.publish-batch-size}; and the heap that tick needs ({@link
 * HeapPeak}). Baseline of every round: RabbitMQ PerfTest, in its own JVM, publishing the same
 * number of messages of the same body size, persistent and mandatory, with a confirm window of the
 * batch size, one producer, no consumer, to a classic durable queue of the same arguments. The last
 * line of the output is {@code RESULT fanout key=value ...}.
 */
public final class FanoutBenchmark {

  static final int DEFAULT_USERS = 100_000;
  static final String STREAM = "posts";
  static final double TARGET_RATIO = 0.9;

  /** Sizes of one run; each can be overridden with {@code -Dbench.fanout.<name>=...}. */
  record Settings(int users, int rounds, Integer batchSize, String perftestCp) {

    static Settings fromSystemProperties() {
      return new Settings(
          Integer.getInteger("bench.fanout.users", DEFAULT_USERS),
          Integer.getInteger("bench.fanout.rounds", 5),
          Integer.getInteger("bench.fanout.batch-size"),
          System.getProperty("bench.perftest.classpath"));
    }
  }

  /** One round: the tick and PerfTest on the same number of messages. */
  record Round(
      double tickSeconds,
      FanoutPhases.Split split,
      double perftestRate,
      CpuSampler.Shares cpu,
      HeapPeak.Usage heap) {

    double usersPerSecond(int users) {
      return users / tickSeconds;
    }
  }

  private final Settings settings;
  private final String name = BenchSupport.newName("benchfanout");
  private final Services services = Services.from(new StandardEnvironment());

  private ConfigurableApplicationContext context;
  private CamelContext camel;
  private ProducerTemplate producer;
  private JdbcTemplate jdbc;
  private BusNames names;
  private FanoutPhases phases;
  private HeapPeak heap;
  private int batch;
  private String queue;

  private FanoutBenchmark(Settings settings) {
    this.settings = settings;
  }

  public static void main(String[] args) {
    FanoutBenchmark benchmark = new FanoutBenchmark(Settings.fromSystemProperties());
    BenchSupport.runMainWithResult("fanout", benchmark::run, benchmark::cleanUp);
  }

  /** Runs the benchmark and returns its RESULT line. */
  private String run() throws Exception {
    say("Fan-out benchmark, environment and schema '%s'", name);
    BenchSupport.describeMachine(services);
    List<String> perftest = perftestCommand();

    List<String> args = new ArrayList<>();
    // No route runs by itself: only the scheduler's worker route is started below, so nothing
    // consumes the mining queue and no Quartz tick interferes.
    args.add("--camel.main.auto-startup=false");
    if (settings.batchSize() != null) {
      args.add("--quarry.mining.publish-batch-size=" + settings.batchSize());
    }
    phases = new FanoutPhases();
    heap = new HeapPeak();
    context =
        BenchSupport.startQuarry(
            name, args, ctx -> ctx.getBeanFactory().addBeanPostProcessor(phases));
    camel = context.getBean(CamelContext.class);
    phases.readSendTimeFrom(context.getBean(MeterRegistry.class));
    producer = camel.createProducerTemplate();
    jdbc = new JdbcTemplate(context.getBean(DataSource.class));
    names = context.getBean(BusNames.class);
    QuarryProperties properties = context.getBean(QuarryProperties.class);
    batch = properties.mining().publishBatchSize();
    queue = names.miningQueue(STREAM);
    String route = STREAM + "-scheduler";
    check(camel.getRoute(route) != null, "Quarry has no route '" + route + "' any more");
    camel.getRouteController().startRoute(route);

    long insertStart = System.nanoTime();
    jdbc.update(
        "insert into app_user (external_id) select 'bench-user-' || g from generate_series(1, ?) g",
        settings.users());
    jdbc.execute("analyze app_user");
    say(
        "%s active users inserted in %.1f s (no tokens: no miner runs)",
        f0(settings.users()), (System.nanoTime() - insertStart) / 1e9);
    say(
        "settings: publish-batch-size=%d (Quarry's confirm window, and PerfTest's -c), %s rounds of"
            + " %s users after 1 warm-up round; each round: one tick of direct:%s, then PerfTest"
            + " with the same messages",
        batch, settings.rounds(), f0(settings.users()), route);

    // The warm-up tick inserts the chains; the counted ticks update them, as every later tick in
    // production does.
    Round warmup = quarryRound();
    int messageBytes = messageSize();
    purge(queue);
    say("warm-up (not counted): tick %s", describe(warmup));

    List<Round> rounds = new ArrayList<>();
    for (int round = 1; round <= settings.rounds(); round++) {
      resetChains();
      Round tick = quarryRound();
      purge(queue);
      double rate = perftestRound(perftest, messageBytes);
      Round complete = new Round(tick.tickSeconds(), tick.split(), rate, tick.cpu(), tick.heap());
      rounds.add(complete);
      say(
          "round %d: tick %s | PerfTest %s msg/s | ratio %.2f",
          round, describe(complete), f0(rate), complete.usersPerSecond(settings.users()) / rate);
    }

    double users =
        median(rounds.stream().mapToDouble(r -> r.usersPerSecond(settings.users())).toArray());
    double perftestRate = median(rounds.stream().mapToDouble(Round::perftestRate).toArray());
    double ratio =
        median(
            rounds.stream()
                .mapToDouble(r -> r.usersPerSecond(settings.users()) / r.perftestRate())
                .toArray());
    double tick = median(rounds.stream().mapToDouble(Round::tickSeconds).toArray());
    double read = median(rounds.stream().mapToDouble(r -> r.split().read() / 1e9).toArray());
    double claim = median(rounds.stream().mapToDouble(r -> r.split().claim() / 1e9).toArray());
    double publish = median(rounds.stream().mapToDouble(r -> r.split().publish() / 1e9).toArray());
    double send = median(rounds.stream().mapToDouble(r -> r.split().send() / 1e9).toArray());
    double confirms =
        median(rounds.stream().mapToDouble(r -> r.split().awaitConfirms() / 1e9).toArray());
    double rest = median(rounds.stream().mapToDouble(r -> r.split().rest() / 1e9).toArray());
    double publishOnly = settings.users() / publish;
    double peakHeap =
        median(rounds.stream().mapToDouble(r -> r.heap().peak() / 1048576.0).toArray());
    double peakLive =
        median(rounds.stream().mapToDouble(r -> r.heap().peakLive() / 1048576.0).toArray());
    double heapBefore =
        median(rounds.stream().mapToDouble(r -> r.heap().before() / 1048576.0).toArray());
    double maxHeap = Runtime.getRuntime().maxMemory() / 1048576.0;

    say("");
    say(
        "Summary (medians of %d rounds, %s users, %d-byte mining messages, batch %d, load average"
            + " %s):",
        rounds.size(), f0(settings.users()), messageBytes, batch, BenchSupport.loadAverage());
    double first =
        median(rounds.stream().mapToDouble(r -> r.split().beforeFirstPublish() / 1e9).toArray());
    say(
        "  Quarry tick          %s users/s enqueued (%.2f s: until the first publish %.2f s, publish"
            + " %.2f s = send %.2f s + await confirms %.2f s, publishing idle %.2f s; beside the"
            + " publishing: read %.2f s, claim %.2f s)",
        f0(users), tick, first, publish, send, confirms, rest, read, claim);
    say("  publishing alone     %s msg/s (users / publish time)", f0(publishOnly));
    say(
        "  heap of the tick     peak %.1f MB, peak live (after a GC) %.1f MB, %.1f MB before the"
            + " tick (after a full GC); -Xmx %.0f MB",
        peakHeap, peakLive, heapBefore, maxHeap);
    say(
        "  PerfTest             %s msg/s (1 producer, -c %d, persistent, mandatory, %d-byte body)",
        f0(perftestRate), batch, messageBytes);
    say(
        "  ratio                %.2f  (target >= %.1f: %s)",
        ratio, TARGET_RATIO, BenchSupport.verdict(ratio, TARGET_RATIO));
    Round typical =
        rounds.stream()
            .min(
                (a, b) ->
                    Double.compare(
                        Math.abs(a.tickSeconds() - tick), Math.abs(b.tickSeconds() - tick)))
            .orElseThrow();
    CpuSampler.Shares cpu = typical.cpu();
    String largest =
        publish >= read + claim ? "publishing (BatchPublisher.publishAll)" : "the database";
    say(
        "  bottleneck           %s: publishing %.0f%% of the tick (sending %.0f%%, waiting for"
            + " the confirms %.0f%%), reading and claiming %.0f%% beside it; CPU during the tick:"
            + " Quarry's"
            + " JVM %.0f%% of a core, RabbitMQ %.0f%%, PostgreSQL %.0f%% (machine %.0f%% of"
            + " %d00%%)",
        largest,
        100 * publish / tick,
        100 * send / tick,
        100 * confirms / tick,
        100 * (read + claim) / tick,
        cpu.of("quarry-jvm"),
        cpu.of("rabbitmq"),
        cpu.of("postgres"),
        cpu.machineBusyPercent(),
        Runtime.getRuntime().availableProcessors());
    return String.format(
        Locale.ROOT,
        "RESULT fanout users_per_s=%.0f perftest_msgs_per_s=%.0f ratio=%.3f tick_s=%.2f read_s=%.2f"
            + " claim_s=%.2f until_first_publish_s=%.2f publish_s=%.2f publishing_idle_s=%.2f"
            + " await_confirms_s=%.2f publish_msgs_per_s=%.0f"
            + " users=%d batch=%d message_bytes=%d rounds=%d peak_heap_mb=%.1f"
            + " peak_live_heap_mb=%.1f heap_before_mb=%.1f max_heap_mb=%.0f",
        users,
        perftestRate,
        ratio,
        tick,
        read,
        claim,
        first,
        publish,
        rest,
        confirms,
        publishOnly,
        settings.users(),
        batch,
        messageBytes,
        rounds.size(),
        peakHeap,
        peakLive,
        heapBefore,
        maxHeap);
  }

  private String describe(Round round) {
    return String.format(
        Locale.ROOT,
        "%.2f s = %s users/s (%s) | %s | CPU %s",
        round.tickSeconds(),
        f0(round.usersPerSecond(settings.users())),
        round.split(),
        round.heap(),
        round.cpu().processLine());
  }

  /** One tick through direct:posts-scheduler, checked: every user scheduled and in the queue. */
  private Round quarryRound() throws Exception {
    Round round = tick();
    Map<String, Object> run =
        jdbc.queryForMap(
            "select outcome, users_read, users_scheduled, users_skipped, error from scheduler_run"
                + " order by started_at desc limit 1");
    check(
        "succeeded".equals(run.get("outcome")),
        "the tick did not succeed: " + run.get("outcome") + " " + run.get("error"));
    check(
        ((Number) run.get("users_scheduled")).intValue() == settings.users(),
        "the tick scheduled " + run.get("users_scheduled") + " of " + settings.users() + " users");
    long depth = depth(queue);
    check(depth == settings.users(), "the mining queue holds " + depth + " of " + settings.users());
    return round;
  }

  private Round tick() {
    heap.start();
    CpuSampler.Snapshot before = CpuSampler.take();
    phases.measure();
    long start = System.nanoTime();
    producer.sendBody(FlowEndpoints.schedulerWorker(STREAM), null);
    long nanos = System.nanoTime() - start;
    HeapPeak.Usage memory = heap.stop();
    FanoutPhases.Split split = phases.stop(nanos);
    CpuSampler.Shares cpu = CpuSampler.between(before, CpuSampler.take());
    return new Round(nanos / 1e9, split, Double.NaN, cpu, memory);
  }

  /** Every chain over, so the next tick claims every user again (and leaves no dead rows). */
  private void resetChains() {
    jdbc.update(
        "update mining_state set status = 'completed', finished_at = now() where stream = ?",
        STREAM);
    jdbc.execute("vacuum analyze mining_state");
  }

  /** Body size of one of the tick's mining messages (it is left in the queue). */
  private int messageSize() throws Exception {
    try (com.rabbitmq.client.Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      GetResponse message = channel.basicGet(queue, false);
      check(message != null, "no mining message in " + queue);
      Map<String, Object> headers = message.getProps().getHeaders();
      say(
          "a mining message: %d-byte body %s, properties: content-type %s, delivery mode %s,"
              + " headers %s",
          message.getBody().length,
          new String(message.getBody(), StandardCharsets.UTF_8),
          message.getProps().getContentType(),
          message.getProps().getDeliveryMode(),
          headers == null ? "{}" : headers.keySet());
      channel.basicNack(message.getEnvelope().getDeliveryTag(), false, true);
      return message.getBody().length;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // PerfTest

  /** java -cp <PerfTest's classpath> com.rabbitmq.perf.PerfTest, checked once up front. */
  private List<String> perftestCommand() throws Exception {
    String classpath = settings.perftestCp();
    if (classpath == null || classpath.isBlank()) {
      Path script = Path.of("bench", "perftest-classpath.sh");
      check(
          Files.isExecutable(script),
          "no -Dbench.perftest.classpath and no bench/perftest-classpath.sh in the working"
              + " directory");
      Process resolve =
          new ProcessBuilder(script.toString())
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      classpath =
          new String(resolve.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      check(resolve.waitFor() == 0 && !classpath.isBlank(), "PerfTest's classpath did not resolve");
    }
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = List.of(javaBin, "-cp", classpath, "com.rabbitmq.perf.PerfTest");
    String jar =
        java.util.Arrays.stream(classpath.split(":"))
            .filter(p -> p.contains("perf-test-"))
            .map(p -> Path.of(p).getFileName().toString())
            .findFirst()
            .orElse("?");
    say("baseline: RabbitMQ PerfTest (%s) in its own JVM", jar);
    return command;
  }

  /**
   * PerfTest publishes {@code users} messages of {@code bytes} to a queue declared like the mining
   * queue (classic, durable, same dead-letter arguments) through the default exchange, persistent
   * and mandatory, with at most {@code batch} unconfirmed; no consumer. Returns its average
   * publishing rate; checks the queue then holds every message, and deletes it.
   */
  private double perftestRound(List<String> command, int bytes) throws Exception {
    String target = "bench-perftest-" + name;
    try (com.rabbitmq.client.Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      Map<String, Object> arguments = new LinkedHashMap<>();
      arguments.put("x-dead-letter-exchange", names.deadLetterExchange());
      arguments.put("x-dead-letter-routing-key", names.deadLetterQueue(queue));
      channel.queueDeclare(target, true, false, false, arguments);
    }
    List<String> full = new ArrayList<>(command);
    full.addAll(
        List.of(
            "--producers",
            "1",
            "--consumers",
            "0",
            "--pmessages",
            Integer.toString(settings.users()),
            "--size",
            Integer.toString(bytes),
            "--flag",
            "persistent",
            "--flag",
            "mandatory",
            "--confirm",
            Integer.toString(batch),
            "--exchange",
            "",
            "--routing-key",
            target,
            "--queue",
            target,
            "--predeclared",
            "--skip-binding-queues",
            "--auto-delete",
            "false",
            "--interval",
            "1",
            "--id",
            "fanout-baseline",
            "--uri",
            amqpUri()));
    Process process = new ProcessBuilder(full).redirectErrorStream(true).start();
    Double rate = null;
    List<String> lines = new ArrayList<>();
    Pattern average = Pattern.compile("sending rate avg: (\\d+) msg/s");
    try (BufferedReader out =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = out.readLine()) != null; ) {
        lines.add(line);
        Matcher m = average.matcher(line);
        if (m.find()) {
          rate = Double.parseDouble(m.group(1));
        }
      }
    }
    boolean exited = process.waitFor(5, TimeUnit.MINUTES);
    if (!exited) {
      process.destroyForcibly();
    }
    check(exited && rate != null, "PerfTest gave no rate:\n  " + String.join("\n  ", lines));
    long depth = depth(target);
    try (com.rabbitmq.client.Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      channel.queueDelete(target);
    }
    check(depth == settings.users(), "PerfTest's queue holds " + depth + " of " + settings.users());
    return rate;
  }

  private String amqpUri() {
    StandardEnvironment env = new StandardEnvironment();
    return "amqp://"
        + env.getProperty("quarry.rabbitmq.username", "guest")
        + ":"
        + env.getProperty("quarry.rabbitmq.password", "guest")
        + "@"
        + env.getProperty("quarry.rabbitmq.host", "127.0.0.1")
        + ":"
        + env.getProperty("quarry.rabbitmq.port", "5672")
        + "/%2F";
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private long depth(String name) throws IOException, java.util.concurrent.TimeoutException {
    try (com.rabbitmq.client.Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      return channel.queueDeclarePassive(name).getMessageCount();
    }
  }

  private void purge(String name) throws IOException, java.util.concurrent.TimeoutException {
    try (com.rabbitmq.client.Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      channel.queuePurge(name);
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
      context.close();
      context = null;
    }
    BenchSupport.dropEnvironment(services, name, "benchfanout");
  }
}
