package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.flow.FlowEndpoints;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.user.UserRepository;
import java.time.Duration;
import java.util.Map;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

/**
 * A transient failure that does not heal goes round the dead-letter retry a bounded number of
 * times, then is parked: real broker, delay queue and database (the test profile redelivers once
 * inside the route, 100 ms later).
 */
@QuarryIntegrationTest
@TestPropertySource(properties = "quarry.mining.dead-letter-retries=1")
class DeadLetterRetryIT extends SimulatedPlatformTest {

  @Autowired UserRepository users;
  @Autowired ProducerTemplate camel;
  @Autowired MeterRegistry meters;

  @Test
  void aTransientFailureIsRetriedAsOftenAsConfiguredThenParked() {
    long broken = users.upsert("broken", "token");
    PLATFORM.user("broken").serverErrorsAlways();
    double retriedBefore = counter("quarry.dead.letters.retried");
    double parkedBefore = counter("quarry.dead.letters.parked");

    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    // Two rounds of two deliveries (the first try and one redelivery), 5 s apart in a delay queue.
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> count("select count(*)" + MINING_DEAD_LETTERS) == 1);
    Map<String, Object> parked = jdbc.sql("select *" + MINING_DEAD_LETTERS).query().singleRow();
    assertThat(parked)
        .containsEntry("attempts", 4)
        .containsEntry("permanent", false)
        .containsEntry("route_id", "posts-miner-pages");
    assertThat((String) parked.get("reason")).contains("500");
    assertThat(
            jdbc.sql("select headers ->> 'x-quarry-dead-letter-retries'" + MINING_DEAD_LETTERS)
                .query(String.class)
                .single())
        .isEqualTo("1");
    assertThat(PLATFORM.user("broken").requests()).isEqualTo(4);
    assertThat(counter("quarry.dead.letters.retried") - retriedBefore).isEqualTo(1);
    assertThat(counter("quarry.dead.letters.parked") - parkedBefore).isEqualTo(1);
    // The chain is marked failed once its dead letter is confirmed, which may be after parking.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(state(broken)).containsEntry("status", "failed"));

    // Parked means out of the loop: no further delivery after the 5 s a retry would take.
    await()
        .during(Duration.ofSeconds(7))
        .atMost(Duration.ofSeconds(9))
        .until(
            () ->
                PLATFORM.user("broken").requests() == 4
                    && count("select count(*)" + MINING_DEAD_LETTERS) == 1);
  }

  private double counter(String name) {
    var counter = meters.find(name).counter();
    return counter == null ? 0 : counter.count();
  }
}
