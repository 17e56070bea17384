package io.quarry.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarry.QuarryApplication;
import io.quarry.maintenance.MaintenanceJobs;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.quartz.JobExecutionContext;
import org.quartz.JobExecutionException;
import org.quartz.JobKey;
import org.quartz.Scheduler;
import org.quartz.listeners.JobListenerSupport;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.quartz.SchedulerFactoryBeanCustomizer;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.mock.env.MockEnvironment;

/**
 * Two Quarry instances on one job store: every tick of a job, and of a stream's scheduler, fires on
 * exactly one of them, each of them fires both, and no fire fails.
 *
 * <p>Which instance wins a tick is up to Quartz; so that each is seen running both jobs, an
 * instance that has not yet gets the ticks to itself for a while (the other stands by).
 *
 * <p>The two instances share one JVM, so their Camel contexts need different JMX management names
 * (production has one context per JVM, all named {@code quarry}). The durable jobs are stored by
 * whichever instance starts first; the other must run them all the same.
 */
class ClusteredSchedulerIT {

  private static final JobKey RESEND_ERROR_EMAIL =
      JobKey.jobKey("ResendErrorEmailJob", MaintenanceJobs.GROUP);
  private static final JobKey POSTS_SCHEDULER =
      JobKey.jobKey("posts-scheduler", JobService.STREAM_GROUP);

  private final String env = IsolatedEnvironment.newName();
  private final MockEnvironment props =
      new MockEnvironment()
          .withProperty("quarry.environment", env)
          .withProperty("quarry.database.schema", env);
  private final List<ConfigurableApplicationContext> instances = new ArrayList<>();

  /** Every job execution on either instance, as its own scheduler reported it. */
  private final Queue<Fire> fires = new ConcurrentLinkedQueue<>();

  private record Fire(
      String instance, JobKey job, Instant scheduledFireTime, JobExecutionException failure) {}

  @AfterEach
  void stopInstances() throws Exception {
    instances.forEach(ConfigurableApplicationContext::close);
    Services.from(props).dropEnvironment(props);
  }

  @Test
  void twoInstancesFireEachTickOnce() throws Exception {
    instances.add(start("node-a"));
    instances.add(start("node-b"));

    // Both instances compete for every tick ...
    awaitFires(
        "ticks fired while both instances compete",
        Duration.ofSeconds(60),
        () -> firesOf(RESEND_ERROR_EMAIL).size() >= 8 && firesOf(POSTS_SCHEDULER).size() >= 4);
    // ... and each must be able to run both jobs, whichever stored them. Which instance wins a
    // tick is up to Quartz, so an instance that has not run a job yet gets the ticks to itself
    // until it has: the other stands by (it stays a member of the cluster, checking in).
    for (int i = 0; i < instances.size(); i++) {
      String instance = i == 0 ? "node-a" : "node-b";
      Scheduler other = instances.get(1 - i).getBean(Scheduler.class);
      if (ranOn(RESEND_ERROR_EMAIL).contains(instance)
          && ranOn(POSTS_SCHEDULER).contains(instance)) {
        continue;
      }
      other.standby();
      awaitFires(
          instance + " runs both jobs alone",
          Duration.ofSeconds(30),
          () ->
              ranOn(RESEND_ERROR_EMAIL).contains(instance)
                  && ranOn(POSTS_SCHEDULER).contains(instance));
      other.start();
    }

    assertThat(query("select instance_name from " + env + ".qrtz_scheduler_state order by 1"))
        .as("both instances are members of the cluster")
        .containsExactly("node-a", "node-b");
    // No more fires: each scheduler waits for its running jobs, so every fire is recorded.
    for (ConfigurableApplicationContext instance : instances) {
      instance.getBean(Scheduler.class).shutdown(true);
    }

    assertThat(failedFires()).as("failed fires").isEmpty();
    assertThat(ranOn(RESEND_ERROR_EMAIL))
        .as("instances that fired ResendErrorEmailJob")
        .containsExactlyInAnyOrder("node-a", "node-b");
    assertThat(ranOn(POSTS_SCHEDULER))
        .as("instances that fired the posts scheduler")
        .containsExactlyInAnyOrder("node-a", "node-b");
    assertThat(
            query(
                "select trigger_name from " + env + ".qrtz_triggers where trigger_state = 'ERROR'"))
        .as("triggers Quartz gave up on")
        .isEmpty();
    // Each tick fires on one instance only: no scheduled fire time twice. (A tick that fires late
    // may start in the same second as the next one, so wall-clock seconds would not tell.)
    assertThat(firesOf(RESEND_ERROR_EMAIL))
        .as("scheduled fire times of ResendErrorEmailJob")
        .doesNotHaveDuplicates();
    assertThat(firesOf(POSTS_SCHEDULER))
        .as("scheduled fire times of the posts scheduler")
        .doesNotHaveDuplicates();
    // ... and each fire is one record of the job's run, or of the stream's tick.
    assertThat(
            query(
                "select instance_id from "
                    + env
                    + ".job_execution"
                    + " where job_name = 'ResendErrorEmailJob'"))
        .as("instances in the runs of ResendErrorEmailJob")
        .hasSameSizeAs(firesOf(RESEND_ERROR_EMAIL))
        .containsOnly("node-a", "node-b");
    assertThat(query("select instance from " + env + ".scheduler_run where stream = 'posts'"))
        .as("instances in the runs of the posts scheduler")
        .hasSameSizeAs(firesOf(POSTS_SCHEDULER))
        .containsOnly("node-a", "node-b");
  }

  /** The scheduled fire times of the job's fires, on either instance. */
  private List<Instant> firesOf(JobKey job) {
    return fires.stream().filter(f -> f.job().equals(job)).map(Fire::scheduledFireTime).toList();
  }

  /** Waits for the fires, failing at the first failed fire; a timeout says what had fired. */
  private void awaitFires(String what, Duration atMost, Callable<Boolean> done) {
    try {
      await(what)
          .atMost(atMost)
          .failFast(() -> assertThat(failedFires()).as("failed fires").isEmpty())
          .until(done);
    } catch (ConditionTimeoutException timeout) {
      throw new AssertionError(what + " within " + atMost + "; fires: " + summary(), timeout);
    }
  }

  /** Fires per job and instance, failed ones apart. */
  private String summary() {
    java.util.Map<String, Long> counts = new java.util.TreeMap<>();
    for (Fire fire : fires) {
      counts.merge(
          fire.job().getName() + "@" + fire.instance() + (fire.failure() == null ? "" : " failed"),
          1L,
          Long::sum);
    }
    return counts.toString();
  }

  /** The instances on which the job ran at least once without failing. */
  private List<String> ranOn(JobKey job) {
    return fires.stream()
        .filter(f -> f.job().equals(job) && f.failure() == null)
        .map(Fire::instance)
        .distinct()
        .toList();
  }

  private List<String> failedFires() {
    return fires.stream()
        .filter(f -> f.failure() != null)
        .map(f -> f.instance() + " " + f.job() + ": " + f.failure().getMessage())
        .toList();
  }

  private ConfigurableApplicationContext start(String instance) {
    // Listens from before the scheduler starts, so no fire goes unseen.
    SchedulerFactoryBeanCustomizer recordFires =
        factory -> factory.setGlobalJobListeners(new FireRecorder(instance));
    return new SpringApplicationBuilder(QuarryApplication.class)
        .web(WebApplicationType.SERVLET)
        .profiles("test")
        .initializers(
            context -> context.getBeanFactory().registerSingleton("recordFires", recordFires))
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

  /** Records each job execution of one instance's scheduler, failed or not. */
  private final class FireRecorder extends JobListenerSupport {

    private final String instance;

    FireRecorder(String instance) {
      this.instance = instance;
    }

    @Override
    public String getName() {
      return "fire-recorder-" + instance;
    }

    @Override
    public void jobWasExecuted(JobExecutionContext context, JobExecutionException failure) {
      fires.add(
          new Fire(
              instance,
              context.getJobDetail().getKey(),
              context.getScheduledFireTime().toInstant(),
              failure));
    }
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
}
