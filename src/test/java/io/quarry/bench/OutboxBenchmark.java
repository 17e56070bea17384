package io.quarry.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import io.quarry.QuarryApplication;
import io.quarry.bus.BusNames;
import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
import io.quarry.outbox.IntegrationEvent;
import io.quarry.outbox.OutboxRepository;
import io.quarry.support.Services;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The outbox benchmark ({@code bench/run outbox}); not a test. Starts real Quarry contexts against
 * the machine's PostgreSQL and RabbitMQ, in an environment and schema of its own ({@code
 * benchoutbox} + random hex, removed at the end), and measures:
 *
 * <ol>
 *   <li>relay throughput: {@value #DEFAULT_EVENTS} pending events published by the relay (claim,
 *       publish as one batch with one confirm wait, mark published), beside the baseline: the plain
 *       INSERT rate of the very same rows, in the same transactions of {@code batch-size} rows,
 *       measured in the same round;
 *   <li>commit-to-publish latency (commit returned to the writer until a plain AMQP consumer holds
 *       the message) with LISTEN/NOTIFY on, and with polling only ({@code listen-notify=false}).
 * </ol>
 *
 * Every figure is the median of several rounds. The last line of the output is {@code RESULT outbox
 * key=value ...}. Sizes can be changed with system properties ({@code -Dbench.outbox.events=...},
 * see {@link Settings}), the defaults are what the issue asks for.
 */
public final class OutboxBenchmark {

  static final int DEFAULT_EVENTS = 100_000;
  static final String EVENT_TYPE = "BenchmarkIntegrationEvent";
  static final int EVENT_PRIORITY = 5;

  /** Sizes of one run; each can be overridden with {@code -Dbench.outbox.<name>=...}. */
  record Settings(
      int events,
      int rounds,
      int warmupEvents,
      int latencyEvents,
      int latencyRounds,
      int latencyPaceMillis,
      String pollInterval,
      Integer batchSize,
      boolean profile) {

    static Settings fromSystemProperties() {
      return new Settings(
          Integer.getInteger("bench.outbox.events", DEFAULT_EVENTS),
          Integer.getInteger("bench.outbox.rounds", 3),
          Integer.getInteger("bench.outbox.warmup-events", 10_000),
          Integer.getInteger("bench.outbox.latency-events", 300),
          Integer.getInteger("bench.outbox.latency-rounds", 3),
          Integer.getInteger("bench.outbox.latency-pace-ms", 20),
          System.getProperty("bench.outbox.poll-interval", "1s"),
          Integer.getInteger("bench.outbox.batch-size"),
          Boolean.getBoolean("bench.outbox.profile"));
    }

    /** Quarry settings of the contexts: the poll interval, and the batch size if overridden. */
    List<String> quarryArgs() {
      List<String> args = new ArrayList<>();
      args.add("--quarry.outbox.poll-interval=" + pollInterval);
      if (batchSize != null) {
        args.add("--quarry.outbox.batch-size=" + batchSize);
      }
      return args;
    }
  }

  private final Settings settings;
  private final String name = "benchoutbox" + UUID.randomUUID().toString().substring(0, 8);
  private final Services services = Services.from(new StandardEnvironment());

  private OutboxBenchmark(Settings settings) {
    this.settings = settings;
  }

  public static void main(String[] args) {
    OutboxBenchmark benchmark = new OutboxBenchmark(Settings.fromSystemProperties());
    BenchSupport.runMain("outbox", benchmark::run, benchmark::cleanUp);
  }

  private void run() throws Exception {
    say("Outbox benchmark, environment and schema '%s'", name);
    say(
        "machine: %d processors, load average %s; %s; PostgreSQL %s (synchronous_commit=%s,"
            + " fsync=%s); RabbitMQ %s",
        Runtime.getRuntime().availableProcessors(),
        loadAverage(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
        sql("show server_version"),
        sql("show synchronous_commit"),
        sql("show fsync"),
        rabbitVersion());
    if (!"on".equals(sql("show synchronous_commit"))) {
      throw new IllegalStateException("synchronous_commit must be on for this benchmark");
    }

    List<Throughput> throughput = new ArrayList<>();
    List<Latency> notify = new ArrayList<>();
    List<Latency> poll = new ArrayList<>();
    int batch;

    // Context 1: production settings (poll 1 s + LISTEN/NOTIFY). Throughput with the relay's
    // triggers stopped (so nothing publishes while the backlog is written), then latency.
    try (App app = App.start(name, settings.quarryArgs(), true, settings.profile())) {
      batch = app.properties.outbox().batchSize();
      String commit = app.jdbc.queryForObject("show synchronous_commit", String.class);
      check("on".equals(commit), "the application's connections run synchronous_commit=" + commit);
      say(
          "relay settings: batch-size=%d (= confirm window: a batch is published, then all its"
              + " confirms awaited, quarry-amqp's BatchPublisher), mandatory with returns,"
              + " persistent messages, confirm-timeout=%s, poll-interval=%s; the application's"
              + " connections: synchronous_commit=%s",
          batch,
          app.properties.outbox().confirmTimeout(),
          app.properties.outbox().pollInterval(),
          commit);
      say(
          "broker path: exchange %s (topic) -> %s (classic, durable, x-max-priority), the"
              + " application's own consumer route stopped; the benchmark reads that queue with 1"
              + " plain AMQP consumer, auto-ack, unlimited prefetch (latency rounds only)",
          app.names.integrationEventsExchange(), app.names.notificationEventsQueue());
      app.stopRoutes("notification-events", "outbox-poll", "outbox-wakeup");
      app.purgeEventsQueue();

      say("");
      say(
          "== Throughput: %,d pending events, relay vs two baselines of the same round ==",
          settings.events());
      say(
          "relay: direct:outbox-relay (claim, quarry-amqp publish, mark) drains the backlog, no consumer"
              + " on the queue; every event is counted in the queue, then the queue is purged");
      say(
          "insert baseline: the same rows, %d per transaction in one JDBC batch"
              + " (reWriteBatchedInserts), same SQL as OutboxRepository.append",
          batch);
      say(
          "broker baseline: the same messages from a plain AMQP channel, persistent, mandatory,"
              + " %d per confirm wait (waitForConfirms), to the same exchange and queue",
          batch);
      Throughput warmup = throughputRound(app, settings.warmupEvents(), batch);
      sayRound(
          String.format(Locale.ROOT, "warm-up (%,d events, not counted)", settings.warmupEvents()),
          warmup);
      for (int round = 1; round <= settings.rounds(); round++) {
        Throughput t = throughputRound(app, settings.events(), batch);
        throughput.add(t);
        sayRound("round " + round, t);
      }

      say("");
      say(
          "== Latency with LISTEN/NOTIFY (poll %s as fallback): %d rounds x %d events, one"
              + " transaction each, every %d ms ==",
          settings.pollInterval(),
          settings.latencyRounds(),
          settings.latencyEvents(),
          settings.latencyPaceMillis());
      app.startRoutes("outbox-poll", "outbox-wakeup");
      latencyRounds(app, notify);
    }

    // Context 2: listen-notify=false, the poll alone.
    try (App app = App.start(name, settings.quarryArgs(), false, false)) {
      say("");
      say(
          "== Latency polling only (listen-notify=false, poll-interval=%s): %d rounds x %d events"
              + " ==",
          app.properties.outbox().pollInterval(),
          settings.latencyRounds(),
          settings.latencyEvents());
      app.stopRoutes("notification-events");
      app.purgeEventsQueue();
      latencyRounds(app, poll);
    }

    double relayRate = median(throughput.stream().mapToDouble(Throughput::relayPerSecond));
    double insertRate = median(throughput.stream().mapToDouble(Throughput::insertPerSecond));
    double ratio = median(throughput.stream().mapToDouble(Throughput::vsInsert));
    double brokerRate = median(throughput.stream().mapToDouble(Throughput::brokerPerSecond));
    double vsBroker = median(throughput.stream().mapToDouble(Throughput::vsBroker));
    double p50Notify = median(notify.stream().mapToDouble(Latency::p50));
    double p99Notify = median(notify.stream().mapToDouble(Latency::p99));
    double p50Poll = median(poll.stream().mapToDouble(Latency::p50));
    double p99Poll = median(poll.stream().mapToDouble(Latency::p99));

    say("");
    say(
        "== Summary (medians of %d rounds; load average now %s) ==",
        settings.rounds(), loadAverage());
    say(
        "relay %,.0f events/s; plain INSERT of the same rows %,.0f rows/s; the broker alone %,.0f"
            + " msg/s; relay/insert %.3f, relay/broker %.3f (medians of the per-round ratios)",
        relayRate, insertRate, brokerRate, ratio, vsBroker);
    say("latency with NOTIFY: p50 %.1f ms, p99 %.1f ms", p50Notify, p99Notify);
    say("latency polling only: p50 %.1f ms, p99 %.1f ms", p50Poll, p99Poll);
    say(
        "targets: relay >= 5,000 events/s %s; p99 polling <= 1,100 ms %s; p99 NOTIFY <= 50 ms %s",
        verdict(relayRate, 5_000, true),
        verdict(p99Poll, 1_100, false),
        verdict(p99Notify, 50, false));
    say(
        "RESULT outbox relay_events_per_s=%.0f insert_rows_per_s=%.0f relay_vs_insert=%.3f"
            + " p50_notify_ms=%.1f p99_notify_ms=%.1f p50_poll_ms=%.1f p99_poll_ms=%.1f batch=%d"
            + " rounds=%d events=%d broker_msgs_per_s=%.0f relay_vs_broker=%.3f",
        relayRate,
        insertRate,
        ratio,
        p50Notify,
        p99Notify,
        p50Poll,
        p99Poll,
        batch,
        settings.rounds(),
        settings.events(),
        brokerRate,
        vsBroker);
  }

  // ---------------------------------------------------------------------------------------------
  // Throughput

  /** One throughput round; {@code profile} is the relay's phase breakdown, or null. */
  record Throughput(
      int events, double insertSeconds, double relaySeconds, double brokerSeconds, String profile) {
    double insertPerSecond() {
      return events / insertSeconds;
    }

    double relayPerSecond() {
      return events / relaySeconds;
    }

    double brokerPerSecond() {
      return events / brokerSeconds;
    }

    double vsInsert() {
      return relayPerSecond() / insertPerSecond();
    }

    double vsBroker() {
      return relayPerSecond() / brokerPerSecond();
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "relay %.2f s = %,.0f events/s | insert %.2f s = %,.0f rows/s | broker alone %.2f s ="
              + " %,.0f msg/s | relay/insert %.3f, relay/broker %.3f",
          relaySeconds,
          relayPerSecond(),
          insertSeconds,
          insertPerSecond(),
          brokerSeconds,
          brokerPerSecond(),
          vsInsert(),
          vsBroker());
    }
  }

  /**
   * One round on an empty outbox: {@code events} rows inserted (baseline 1, timed), relayed (timed)
   * until none is pending, every event checked in the queue; then the same messages published by a
   * plain AMQP client (baseline 2, timed), checked and purged.
   */
  private Throughput throughputRound(App app, int events, int batch) throws Exception {
    app.jdbc.execute("truncate outbox_event");
    app.jdbc.execute("analyze outbox_event");
    app.purgeEventsQueue();
    List<Object[]> rows = rows(app.json, events);

    long insertStart = System.nanoTime();
    for (int from = 0; from < rows.size(); from += batch) {
      List<Object[]> chunk = rows.subList(from, Math.min(rows.size(), from + batch));
      app.transaction.executeWithoutResult(
          status ->
              app.jdbc.batchUpdate(
                  """
                  insert into outbox_event
                         (id, event_type, routing_key, payload, priority, occurred_at)
                  values (?, ?, ?, cast(? as jsonb), ?, ?)
                  """,
                  chunk));
    }
    long insertNanos = System.nanoTime() - insertStart;
    check(pending(app) == events, "expected " + events + " pending rows, found " + pending(app));

    Map<String, Long> statsBefore = app.phases == null ? null : tableStats(app);
    if (app.phases != null) {
      app.phases.measure(Thread.currentThread());
    }
    long relayStart = System.nanoTime();
    int published = 0;
    long deadline = relayStart + TimeUnit.MINUTES.toNanos(3);
    while (published < events && System.nanoTime() < deadline) {
      Integer n = app.producer.requestBody(FlowEndpoints.OUTBOX_RELAY, null, Integer.class);
      published += n;
      if (n == 0 && published < events) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // a batch waits for its backoff
      }
    }
    long relayNanos = System.nanoTime() - relayStart;
    String profile = null;
    if (app.phases != null) {
      app.phases.stop();
      Map<String, Long> statsAfter = tableStats(app);
      StringBuilder delta = new StringBuilder();
      statsAfter.forEach(
          (k, v) -> delta.append(' ').append(k).append('=').append(v - statsBefore.get(k)));
      profile =
          "  relay phases: "
              + app.phases.report(relayNanos)
              + "\n  PostgreSQL counters during the relay:"
              + delta;
    }
    check(published == events, "relay published " + published + " of " + events + " events");
    check(pending(app) == 0, pending(app) + " events still pending after the relay");
    long inQueue = app.eventsQueueDepth();
    check(inQueue == events, "the queue holds " + inQueue + " of " + events + " events");
    app.purgeEventsQueue();

    long brokerNanos = publishDirectly(app, rows, batch);
    inQueue = app.eventsQueueDepth();
    check(inQueue == events, "the queue holds " + inQueue + " of " + events + " direct messages");
    app.purgeEventsQueue();

    return new Throughput(
        events, seconds(insertNanos), seconds(relayNanos), seconds(brokerNanos), profile);
  }

  private static void sayRound(String label, Throughput t) {
    say("%s: %s", label, t);
    if (t.profile() != null) {
      say("%s", t.profile());
    }
  }

  /**
   * The broker's own rate for the same messages (PerfTest-like baseline): a plain AMQP channel in
   * confirm mode publishes them to the integration-events exchange, mandatory and persistent with
   * the relay's properties, {@code batch} at a time, and waits for every confirm of a batch before
   * the next, as the relay does.
   */
  private long publishDirectly(App app, List<Object[]> rows, int batch) throws Exception {
    String exchange = app.names.integrationEventsExchange();
    try (com.rabbitmq.client.Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      channel.confirmSelect();
      List<String> returned = new ArrayList<>();
      channel.addReturnListener(r -> returned.add(r.getProperties().getMessageId()));
      long start = System.nanoTime();
      for (int from = 0; from < rows.size(); from += batch) {
        for (Object[] row : rows.subList(from, Math.min(rows.size(), from + batch))) {
          AMQP.BasicProperties properties =
              new AMQP.BasicProperties.Builder()
                  .messageId(row[0].toString())
                  .type((String) row[1])
                  .contentType("application/json")
                  .contentEncoding("UTF-8")
                  .deliveryMode(2)
                  .priority(EVENT_PRIORITY)
                  .timestamp(new java.util.Date())
                  .build();
          channel.basicPublish(
              exchange,
              (String) row[2],
              true,
              properties,
              ((String) row[3]).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        channel.waitForConfirmsOrDie(TimeUnit.SECONDS.toMillis(30));
      }
      long nanos = System.nanoTime() - start;
      check(returned.isEmpty(), returned.size() + " direct messages were returned unroutable");
      return nanos;
    }
  }

  /** Counters of the outbox table and its pending index (deltas are printed in profile mode). */
  private static Map<String, Long> tableStats(App app) {
    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1500)); // backends flush stats each second
    Map<String, Long> stats = new LinkedHashMap<>();
    app.jdbc.query(
        """
        select t.n_tup_upd, t.n_tup_hot_upd, i.idx_scan, i.idx_tup_read, i.idx_tup_fetch,
               io.idx_blks_hit + io.idx_blks_read
          from pg_stat_user_tables t
          join pg_stat_user_indexes i on i.relid = t.relid
          join pg_statio_user_indexes io on io.indexrelid = i.indexrelid
         where t.schemaname = current_schema() and t.relname = 'outbox_event'
           and i.indexrelname = 'outbox_event_pending_idx'
        """,
        rs -> {
          stats.put("rows_updated", rs.getLong(1));
          stats.put("hot_updates", rs.getLong(2));
          stats.put("pending_idx_scans", rs.getLong(3));
          stats.put("pending_idx_entries_read", rs.getLong(4));
          stats.put("pending_idx_rows_fetched", rs.getLong(5));
          stats.put("pending_idx_blocks", rs.getLong(6));
        });
    return stats;
  }

  private static long pending(App app) {
    return app.jdbc.queryForObject(
        "select count(*) from outbox_event where published_at is null", Long.class);
  }

  /** The parameters of {@code events} rows exactly as OutboxRepository.append writes them. */
  private static List<Object[]> rows(ObjectMapper json, int events) throws Exception {
    List<Object[]> rows = new ArrayList<>(events);
    for (int i = 0; i < events; i++) {
      IntegrationEvent event = event(i);
      rows.add(
          new Object[] {
            event.id(),
            event.type(),
            event.type(),
            json.writeValueAsString(event),
            EVENT_PRIORITY,
            Timestamp.from(event.occurredAt())
          });
    }
    return rows;
  }

  /** An event shaped like the maintenance jobs' events. */
  private static IntegrationEvent event(long n) {
    Instant now = Instant.now();
    Map<String, Object> payload = new LinkedHashMap<>();
    payload.put("job", "benchmark");
    payload.put("executionId", n);
    payload.put("firedAt", now.toString());
    payload.put("instance", "bench-instance-1");
    payload.put("triggerSource", "schedule");
    return IntegrationEvent.of(EVENT_TYPE, now, payload);
  }

  // ---------------------------------------------------------------------------------------------
  // Latency

  record Latency(double p50, double p99, double max, int samples) {
    @Override
    public String toString() {
      return String.format(
          Locale.ROOT, "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d events)", p50, p99, max, samples);
    }
  }

  private void latencyRounds(App app, List<Latency> into) throws Exception {
    if (settings.latencyRounds() == 0) {
      return; // -Dbench.outbox.latency-rounds=0: throughput only
    }
    // one warm-up round at a tenth of the size, not counted
    Latency warmup = latencyRound(app, Math.max(20, settings.latencyEvents() / 10));
    say("warm-up (not counted): %s", warmup);
    for (int round = 1; round <= settings.latencyRounds(); round++) {
      Latency l = latencyRound(app, settings.latencyEvents());
      into.add(l);
      say("round %d: %s", round, l);
    }
  }

  /**
   * Appends {@code events} events, each in its own transaction through OutboxRepository.append,
   * every {@code latency-pace-ms}; the latency of one event runs from the return of its commit to
   * its arrival at a plain AMQP consumer (auto-ack, prefetch unbounded) of the events queue.
   */
  private Latency latencyRound(App app, int events) throws Exception {
    Map<String, Long> arrived = new ConcurrentHashMap<>();
    Map<String, Long> committed = new ConcurrentHashMap<>();
    try (com.rabbitmq.client.Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      channel.basicConsume(
          app.names.notificationEventsQueue(),
          true,
          new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(
                String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
              arrived.putIfAbsent(properties.getMessageId(), System.nanoTime());
            }
          });
      long pace = TimeUnit.MILLISECONDS.toNanos(settings.latencyPaceMillis());
      long next = System.nanoTime();
      for (int i = 0; i < events; i++) {
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
        next += pace;
        IntegrationEvent event = event(i);
        app.transaction.executeWithoutResult(status -> app.outbox.append(event, EVENT_PRIORITY));
        committed.put(event.id().toString(), System.nanoTime());
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (!arrived.keySet().containsAll(committed.keySet()) && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
      }
    }
    long missing = committed.keySet().stream().filter(id -> !arrived.containsKey(id)).count();
    check(missing == 0, missing + " of " + events + " events never reached the consumer");
    double[] millis =
        committed.entrySet().stream()
            .mapToDouble(e -> (arrived.get(e.getKey()) - e.getValue()) / 1e6)
            .sorted()
            .toArray();
    return new Latency(
        percentile(millis, 50), percentile(millis, 99), millis[millis.length - 1], millis.length);
  }

  // ---------------------------------------------------------------------------------------------
  // The application under test

  /** A running Quarry context of this benchmark's environment, and the beans the bench uses. */
  static final class App implements AutoCloseable {
    final ConfigurableApplicationContext context;
    final QuarryProperties properties;
    final BusNames names;
    final CamelContext camel;
    final ProducerTemplate producer;
    final OutboxRepository outbox;
    final TransactionTemplate transaction;
    final JdbcTemplate jdbc;
    final ObjectMapper json;
    final Services services;
    final RelayPhases phases;

    private App(ConfigurableApplicationContext context, RelayPhases phases) {
      this.phases = phases;
      this.context = context;
      this.properties = context.getBean(QuarryProperties.class);
      this.names = context.getBean(BusNames.class);
      this.camel = context.getBean(CamelContext.class);
      this.producer = camel.createProducerTemplate();
      this.outbox = context.getBean(OutboxRepository.class);
      this.transaction = context.getBean(TransactionTemplate.class);
      this.jdbc = new JdbcTemplate(context.getBean(DataSource.class));
      this.json = context.getBean(ObjectMapper.class);
      this.services = Services.from(context.getEnvironment());
    }

    static App start(String name, List<String> quarryArgs, boolean listenNotify, boolean profile) {
      List<String> args = new ArrayList<>(quarryArgs);
      args.add("--quarry.environment=" + name);
      args.add("--quarry.database.schema=" + name);
      args.add("--quarry.outbox.listen-notify=" + listenNotify);
      // warnings and errors only, so the figures stay readable
      args.add("--logging.level.io.quarry=WARN");
      args.add("--logging.level.org.apache.camel.component.quartz=WARN");
      long start = System.nanoTime();
      RelayPhases phases = profile ? new RelayPhases() : null;
      ConfigurableApplicationContext context =
          new SpringApplicationBuilder(QuarryApplication.class)
              .web(WebApplicationType.NONE)
              .initializers(
                  ctx -> {
                    if (phases != null) {
                      ctx.getBeanFactory().addBeanPostProcessor(phases);
                    }
                  })
              .profiles("test")
              .logStartupInfo(false)
              .run(args.toArray(String[]::new));
      say(
          "(Quarry context started in %.1f s, listen-notify=%s)",
          seconds(System.nanoTime() - start), listenNotify);
      return new App(context, phases);
    }

    void stopRoutes(String... routeIds) throws Exception {
      for (String id : routeIds) {
        camel.getRouteController().stopRoute(existing(id));
      }
    }

    void startRoutes(String... routeIds) throws Exception {
      for (String id : routeIds) {
        camel.getRouteController().startRoute(existing(id));
      }
    }

    private String existing(String routeId) {
      if (camel.getRoute(routeId) == null) {
        throw new IllegalStateException(
            "Quarry has no route '" + routeId + "' any more; update the outbox benchmark");
      }
      return routeId;
    }

    long eventsQueueDepth() throws Exception {
      try (com.rabbitmq.client.Connection connection = services.amqp();
          Channel channel = connection.createChannel()) {
        return channel.queueDeclarePassive(names.notificationEventsQueue()).getMessageCount();
      }
    }

    void purgeEventsQueue() throws Exception {
      try (com.rabbitmq.client.Connection connection = services.amqp();
          Channel channel = connection.createChannel()) {
        channel.queuePurge(names.notificationEventsQueue());
      }
    }

    @Override
    public void close() {
      try {
        producer.close();
      } catch (java.io.IOException e) {
        // nothing to release that the context's close does not release too
      }
      context.close();
    }
  }

  /** Removes this run's queues, exchanges and schema (only ever a {@code benchoutbox} name). */
  private synchronized void cleanUp() {
    if (!name.startsWith("benchoutbox")) {
      return;
    }
    try {
      services.deleteBusEntities(name);
    } catch (Exception e) {
      System.out.println("could not delete the bench queues of " + name + ": " + e);
    }
    try (Connection c = services.jdbc();
        Statement s = c.createStatement()) {
      s.execute("drop schema if exists " + name + " cascade");
    } catch (Exception e) {
      System.out.println("could not drop schema " + name + ": " + e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private String sql(String query) throws Exception {
    try (Connection c = services.jdbc();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(query)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** The 1, 5 and 15 minute load averages: other work on the machine skews every figure. */
  private static String loadAverage() {
    try {
      String[] fields =
          java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
      return fields[0] + " " + fields[1] + " " + fields[2];
    } catch (java.io.IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private String rabbitVersion() throws Exception {
    try (com.rabbitmq.client.Connection connection = services.amqp()) {
      return String.valueOf(connection.getServerProperties().get("version"));
    }
  }

  static double percentile(double[] sorted, double p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  static double median(java.util.stream.DoubleStream values) {
    double[] sorted = values.sorted().toArray();
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int mid = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  private static String verdict(double value, double limit, boolean atLeast) {
    if (Double.isNaN(value)) {
      return "not measured";
    }
    return (atLeast ? value >= limit : value <= limit) ? "MET" : "MISSED";
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  private static void check(boolean condition, String message) {
    if (!condition) {
      throw new AssertionError(message);
    }
  }

  static void say(String format, Object... args) {
    System.out.println(String.format(Locale.ROOT, format, args));
    System.out.flush();
  }
}
