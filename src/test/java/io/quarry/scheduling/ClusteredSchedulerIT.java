package io.quarry.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarry.QuarryApplication;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.mock.env.MockEnvironment;

/**
 * Two Quarry instances on one job store: every tick of a job, and of a stream's scheduler, fires on
 * exactly one of them.
 */
class ClusteredSchedulerIT {

  private final String env = IsolatedEnvironment.newName();
  private final MockEnvironment props =
      new MockEnvironment()
          .withProperty("quarry.environment", env)
          .withProperty("quarry.database.schema", env);
  private final List<ConfigurableApplicationContext> instances = new ArrayList<>();

  @AfterEach
  void stopInstances() throws Exception {
    instances.forEach(ConfigurableApplicationContext::close);
    Services.from(props).dropEnvironment(props);
  }

  @Test
  void twoInstancesFireEachTickOnce() throws Exception {
    instances.add(start("node-a"));
    instances.add(start("node-b"));

    await()
        .atMost(Duration.ofSeconds(40))
        .until(() -> runs().size() >= 8 && postsTicks().size() >= 4);

    assertThat(query("select instance_name from " + env + ".qrtz_scheduler_state order by 1"))
        .as("both instances are members of the cluster")
        .containsExactly("node-a", "node-b");
    List<String[]> runs = runs();
    List<String> ticks = runs.stream().map(r -> r[0]).toList();
    assertThat(ticks).as("fire times of ResendErrorEmailJob").doesNotHaveDuplicates();
    assertThat(runs.stream().map(r -> r[1]).distinct())
        .as("instances that ran the job")
        .isSubsetOf("node-a", "node-b");
    // A stream's tick is a run record each time it fires: one per fire time (every 2 s), not two.
    assertThat(postsTicks())
        .as("seconds in which the posts scheduler started a run")
        .doesNotHaveDuplicates();
  }

  private List<String> postsTicks() throws Exception {
    return query(
        "select to_char(date_trunc('second', started_at), 'HH24:MI:SS') from "
            + env
            + ".scheduler_run where stream = 'posts' order by started_at");
  }

  private ConfigurableApplicationContext start(String instance) {
    return new SpringApplicationBuilder(QuarryApplication.class)
        .web(WebApplicationType.SERVLET)
        .profiles("test")
        .run(
            "--server.port=0",
            // two instances in one JVM: keep their JMX names apart
            "--spring.jmx.unique-names=true",
            "--camel.main.jmx-management-name-pattern=#name#-" + instance,
            "--quarry.environment=" + env,
            "--quarry.database.schema=" + env,
            "--quarry.scheduler.instance-id=" + instance,
            "--quarry.scheduler.cluster-checkin-interval=1s",
            "--quarry.scheduler.thread-count=2",
            "--quarry.jobs.resend-error-email.cron=0/1 * * * * ?",
            "--quarry.streams.posts.schedule=0/2 * * * * ?");
  }

  private List<String> query(String sql) throws Exception {
    List<String> values = new ArrayList<>();
    try (Connection c = Services.from(props).jdbc();
        ResultSet rs = c.createStatement().executeQuery(sql)) {
      while (rs.next()) {
        values.add(rs.getString(1));
      }
    }
    return values;
  }

  private List<String[]> runs() throws Exception {
    List<String[]> runs = new ArrayList<>();
    try (Connection c = Services.from(props).jdbc();
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "select fired_at, instance_id from "
                        + env
                        + ".job_execution where job_name = 'ResendErrorEmailJob' order by fired_at")) {
      while (rs.next()) {
        runs.add(new String[] {rs.getString(1), rs.getString(2)});
      }
    }
    return runs;
  }
}
