package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarry.QuarryApplication;
import io.quarry.flow.FlowEndpoints;
import io.quarry.platform.sim.PlatformSimulator;
import io.quarry.security.TokenCipher;
import io.quarry.support.Csrf;
import io.quarry.support.Http;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * A Quarry JVM killed with SIGKILL in the middle of a tick's fan-out (claims committed, part of the
 * messages published), then the same instance started again: the restart closes the dead tick and
 * releases the users it never sent, the users of pages the tick had not reached were never claimed,
 * and the next tick mines every user, each item once. The first life runs the packaged jar in a
 * process of its own (publishing one message per confirm, so that the fan-out lasts long enough to
 * be cut); the second is a Quarry context in this JVM, on the same environment, schema and instance
 * id.
 */
class TickKilledIT {

  static final int USERS = 3_000;
  static final int PAGES = 1;
  static final int ITEMS_PER_PAGE = 20;
  static final String ADMIN_PASSWORD = "test-admin-password";
  static final String TOKEN_KEY = "dGVzdC1vbmx5LWtleS1mb3ItcXVhcnJ5LWl0LXRlc3Q=";
  static final String NEVER = "0 0 0 1 1 ? 2099";

  static final PlatformSimulator PLATFORM = PlatformSimulator.start(0).defaultPages(PAGES);

  @AfterAll
  static void stopPlatform() {
    PLATFORM.close();
  }

  @Test
  void aTickKilledBetweenClaimAndPublishIsClosedAtRestartAndItsUsersAreMinedByTheNextTick()
      throws Exception {
    String name = IsolatedEnvironment.newName();
    String instance = "killed-" + name;
    ConfigurableApplicationContext restarted = null;
    try {
      Process firstLife = start(name, instance);
      int published;
      long claimed;
      SingleConnectionDataSource database = database(name);
      try {
        JdbcClient jdbc = JdbcClient.create(database);
        addUsers(jdbc);
        CompletableFuture.runAsync(
            () -> Csrf.post(port, "/api/jobs/posts-scheduler/trigger", "admin", ADMIN_PASSWORD));
        // Killed once the tick has recorded some of its fan-out, long before it has all of it.
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(20))
            .until(() -> usersPublished(jdbc, instance) > 0);
        firstLife.destroyForcibly();
        firstLife.waitFor();
        Map<String, Object> cut = tickOf(jdbc, instance);
        published = (Integer) cut.get("users_published");
        assertThat(cut).as("killed during the fan-out").containsEntry("outcome", "running");
        assertThat(published).isBetween(1, USERS - 1);
        assertThat(
                jdbc.sql("select count(*) from mining_state where status = 'in_progress'")
                    .query(Long.class)
                    .single())
            .as("claims left behind")
            .isGreaterThan(0);
        claimed =
            jdbc.sql("select count(*) from mining_state where run_id = :run")
                .param("run", cut.get("run_id"))
                .query(Long.class)
                .single();
        // A page (20 publish groups of 1 here) is claimed only when the one before is published:
        // the users of later pages were not claimed, not even left in progress.
        assertThat(claimed)
            .as("users the killed tick claimed, page by page")
            .isGreaterThanOrEqualTo(published)
            .isLessThan(USERS);
      } finally {
        firstLife.destroyForcibly();
        database.destroy();
      }

      restarted = secondLife(name, instance);
      JdbcClient jdbc = restarted.getBean(JdbcClient.class);
      Map<String, Object> closed = tickOf(jdbc, instance);
      assertThat(closed)
          .as("closed at restart")
          .containsEntry("outcome", "failed")
          .extractingByKey("error", org.assertj.core.api.InstanceOfAssertFactories.STRING)
          .contains("its instance restarted")
          .contains(" released to the next tick");
      int released = (Integer) closed.get("users_released");
      assertThat((String) closed.get("error")).contains(released + " released to the next tick");
      assertThat((long) published + released).isLessThanOrEqualTo(claimed);

      // The next tick comes once the restarted instance has worked off what the killed one left
      // queued (its published messages, their batches), as a scheduled tick minutes later would:
      // a run started while a batch of the previous run still waits for storage cannot know its
      // page is old data, and analytics, which counts per run and page, would count it twice.
      await()
          .atMost(Duration.ofSeconds(120))
          .during(Duration.ofSeconds(2))
          .until(() -> idle(jdbc, name));
      restarted
          .getBean(ProducerTemplate.class)
          .sendBody(FlowEndpoints.schedulerWorker("posts"), null);

      long items = (long) USERS * PAGES * ITEMS_PER_PAGE;
      await()
          .atMost(Duration.ofSeconds(180))
          .until(
              () ->
                  count(jdbc, "select count(*) from mining_state where status = 'completed'")
                      == USERS);
      // A user whose message of the killed tick was mined before the next tick ran twice: the
      // second run found only stored items. Every other user's chain reached the end of its data.
      assertThat(
              count(
                  jdbc,
                  "select count(*) from mining_state"
                      + " where stop_reason not in ('end_of_data', 'no_new_data')"))
          .isZero();
      assertThat(
              count(
                  jdbc,
                  "select count(*) from mining_state s where s.stop_reason = 'no_new_data'"
                      + " and exists (select 1 from raw_item r where r.user_id = s.user_id"
                      + " and r.run_id <> cast(:dead as uuid))"
                          .replace(":dead", "'" + closed.get("run_id") + "'")))
          .as("users that ended on old data had all their items from the killed tick's run")
          .isZero();
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () ->
                  assertThat(count(jdbc, "select coalesce(sum(items), 0) from analytics_daily"))
                      .as("items counted by analytics")
                      .isEqualTo(items));
      assertThat(count(jdbc, "select count(*) from raw_item")).isEqualTo(items);
      assertThat(count(jdbc, "select count(distinct (user_id, item_id)) from raw_item"))
          .isEqualTo(items);
      await()
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(5))
          .until(() -> count(jdbc, "select coalesce(sum(items), 0) from analytics_daily") == items);
    } finally {
      if (restarted != null) {
        restarted.close(); // drops the schema and the queues (IsolatedEnvironment)
      } else {
        StandardEnvironment environment = new StandardEnvironment();
        environment
            .getPropertySources()
            .addFirst(
                new MapPropertySource(
                    "killed", Map.of("quarry.environment", name, "quarry.database.schema", name)));
        Services.from(environment).dropEnvironment(environment);
      }
    }
  }

  private int port;

  /** The first life: the packaged jar, prod profile, this test's environment and schema. */
  private Process start(String name, String instance) throws IOException {
    port = freePort();
    ProcessBuilder builder =
        new ProcessBuilder(
            ProcessHandle.current().info().command().orElse("java"),
            "-Xmx512m",
            "-jar",
            io.quarry.support.PackagedJar.find().toString());
    Map<String, String> env = builder.environment();
    env.put("SPRING_PROFILES_ACTIVE", "prod");
    env.put("SERVER_PORT", Integer.toString(port));
    env.put("QUARRY_ENVIRONMENT", name);
    env.put("QUARRY_DATABASE_SCHEMA", name);
    env.put("QUARRY_SCHEDULER_INSTANCE_ID", instance);
    env.put("QUARRY_SECURITY_ADMIN_PASSWORD", ADMIN_PASSWORD);
    env.put("QUARRY_SECURITY_VIEWER_PASSWORD", "test-viewer-password");
    env.put("QUARRY_SECURITY_TOKEN_KEY", TOKEN_KEY);
    // The local services are guest/guest and trust authentication.
    env.put("QUARRY_SECURITY_ALLOW_DEFAULT_SERVICE_CREDENTIALS", "true");
    // The second life runs the test profile's classic queues in the same environment.
    for (String kind : List.of("WORK", "EVENTS", "DEAD_LETTER", "DELAY")) {
      env.put("QUARRY_RABBITMQ_QUEUE_TYPES_" + kind, "classic");
    }
    env.put("QUARRY_PLATFORM_BASE_URL", PLATFORM.baseUrl().toString());
    env.put("QUARRY_MINING_PUBLISH_BATCH_SIZE", "1");
    env.put("QUARRY_STREAMS_POSTS_SCHEDULE", NEVER);
    env.put("QUARRY_STREAMS_ADS_SCHEDULE", NEVER);
    env.put("QUARRY_STREAMS_AD_CLICKS_SCHEDULE", NEVER);
    env.put("QUARRY_JOBS_CLEAN_UP_SENT_EMAIL_CRON", NEVER);
    env.put("QUARRY_JOBS_RESEND_ERROR_EMAIL_CRON", NEVER);
    Path log = Path.of("target", "tick-killed-" + name + ".log");
    builder.redirectErrorStream(true).redirectOutput(log.toFile());
    Process process = builder.start();
    Http http = new Http(port);
    try {
      // A shared machine under load (other builds) has taken more than two minutes to start it.
      await()
          .atMost(Duration.ofSeconds(300))
          .pollInterval(Duration.ofMillis(500))
          .failFast("the first life exited; see " + log, () -> !process.isAlive())
          .ignoreExceptions()
          .until(() -> http.get("/actuator/health/readiness").statusCode() == 200);
    } catch (RuntimeException | Error notReady) {
      process.destroyForcibly();
      throw notReady;
    }
    return process;
  }

  /** The second life: the same instance, environment and schema, in this JVM. */
  private static ConfigurableApplicationContext secondLife(String name, String instance) {
    // As command-line arguments: they outrank application.yaml (default properties would not).
    return new SpringApplicationBuilder(QuarryApplication.class)
        .profiles("test")
        .initializers(new IsolatedEnvironment())
        .run(
            "--quarry.environment=" + name,
            "--server.port=0",
            "--quarry.scheduler.instance-id=" + instance,
            "--quarry.platform.base-url=" + PLATFORM.baseUrl());
  }

  private static void addUsers(JdbcClient jdbc) {
    TokenCipher cipher = new TokenCipher(TOKEN_KEY);
    List<String> ids = new ArrayList<>();
    for (int i = 1; i <= USERS; i++) {
      ids.add("killed-user-" + i);
    }
    byte[] token = cipher.encrypt("token");
    jdbc.sql(
            """
            insert into app_user (external_id, access_token)
            select u, :token from unnest(cast(:ids as text[])) as u
            """)
        .param("token", token)
        .param("ids", ids.toArray(String[]::new))
        .update();
  }

  /** One connection to the test's schema, while the first life runs. */
  private static SingleConnectionDataSource database(String schema) throws java.sql.SQLException {
    Connection connection = Services.from(new StandardEnvironment()).jdbc();
    try (PreparedStatement search = connection.prepareStatement("set search_path to " + schema)) {
      search.execute();
    }
    return new SingleConnectionDataSource(connection, true);
  }

  /**
   * No message waits in the environment's queues, every completed chain's items are stored, and
   * analytics has counted every stored item.
   */
  private static boolean idle(JdbcClient jdbc, String name) throws Exception {
    StandardEnvironment environment = new StandardEnvironment();
    Services services = Services.from(environment);
    try (com.rabbitmq.client.Connection connection = services.amqp();
        com.rabbitmq.client.Channel channel = connection.createChannel()) {
      for (String queue : services.namesEndingWith("queues", name)) {
        if (channel.queueDeclarePassive(queue).getMessageCount() > 0) {
          return false;
        }
      }
    }
    long stored = count(jdbc, "select count(*) from raw_item");
    return stored
            == (long) ITEMS_PER_PAGE
                * PAGES
                * count(jdbc, "select count(*) from mining_state where status = 'completed'")
        && count(jdbc, "select coalesce(sum(items), 0) from analytics_daily") == stored;
  }

  private static int usersPublished(JdbcClient jdbc, String instance) {
    return jdbc.sql(
            "select coalesce(max(users_published), 0) from scheduler_run where instance = :i")
        .param("i", instance)
        .query(Integer.class)
        .single();
  }

  private static Map<String, Object> tickOf(JdbcClient jdbc, String instance) {
    return jdbc
        .sql("select * from scheduler_run where instance = :i and stream = 'posts'")
        .param("i", instance)
        .query()
        .listOfRows()
        .stream()
        .min(
            (a, b) ->
                ((java.sql.Timestamp) a.get("started_at"))
                    .compareTo((java.sql.Timestamp) b.get("started_at")))
        .orElseThrow();
  }

  private static long count(JdbcClient jdbc, String sql) {
    return jdbc.sql(sql).query(Long.class).single();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
