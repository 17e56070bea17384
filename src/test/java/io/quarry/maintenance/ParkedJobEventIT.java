package io.quarry.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.quarry.maintenance.JobExecutionRepository.Trigger;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * A maintenance job's run stays "running" until its event's handler records what it did; an event
 * that no handler will ever take (here: of a type no handler knows, dead-lettered at once and
 * parked) fails its run with the dead letter's reason instead, and a letter that names no run (not
 * readable, no execution id) changes no run. Through the real broker, the dead-letter retry route
 * and PostgreSQL.
 */
@QuarryIntegrationTest
class ParkedJobEventIT {

  @Autowired JdbcClient jdbc;
  @Autowired JobExecutionRepository runs;
  @Autowired Environment environment;

  @Value("${quarry.environment}")
  String env;

  @Test
  void aParkedEventFailsItsRunAndAReplayedOneClosesItWithItsEffect() throws Exception {
    Instant now = Instant.now();
    long run = runs.recordQueued("ResendErrorEmailJob", "it", now, now, Trigger.SCHEDULE);
    long bystander = runs.recordQueued("CleanUpSentEmailJob", "it", now, now, Trigger.SCHEDULE);

    try (Connection connection = Services.from(environment).amqp();
        Channel channel = connection.createChannel()) {
      channel.confirmSelect();
      String exchange = "integration-events-" + env;
      channel.basicPublish(exchange, "Garbage", properties(), bytes("{not json"));
      channel.basicPublish(
          exchange,
          "NoSuchIntegrationEvent",
          properties(),
          bytes(
              """
              {"id":"%s","type":"NoSuchIntegrationEvent","occurredAt":"%s",\
              "payload":{"executionId":%d}}"""
                  .formatted(UUID.randomUUID(), now, run)));
      channel.waitForConfirmsOrDie(5_000);
    }

    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> outcome(run).get("outcome"), "failed"::equals);
    Map<String, Object> failed = outcome(run);
    assertThat((String) failed.get("error_message"))
        .startsWith(JobExecutionRepository.EVENT_PARKED)
        .contains("unknown integration event type NoSuchIntegrationEvent");
    assertThat(failed.get("finished_at")).isNotNull();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                jdbc.sql("select count(*) from dead_letter where source_queue = :queue")
                    .param("queue", "notification.integration-events-" + env)
                    .query(Long.class)
                    .single(),
            parked -> parked == 2);
    assertThat(outcome(bystander).get("outcome"))
        .as("the run of no parked event")
        .isEqualTo("running");

    // Replayed after a fix and handled, the event closes its run with what it did after all.
    assertThat(runs.recordEffect(run, 3, "mail(s) re-queued")).isTrue();
    assertThat(outcome(run))
        .containsEntry("outcome", "succeeded")
        .containsEntry("effect", "3 mails re-queued")
        .containsEntry("error_message", null);
    assertThat(runs.recordEffect(run, 4, "mail(s) re-queued"))
        .as("a second account of the same run")
        .isFalse();
  }

  private Map<String, Object> outcome(long run) {
    return jdbc.sql(
            "select outcome, error_message, effect, finished_at from job_execution where id = :id")
        .param("id", run)
        .query()
        .singleRow();
  }

  private static AMQP.BasicProperties properties() {
    return new AMQP.BasicProperties.Builder()
        .contentType("application/json")
        .deliveryMode(2)
        .messageId(UUID.randomUUID().toString())
        .build();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
