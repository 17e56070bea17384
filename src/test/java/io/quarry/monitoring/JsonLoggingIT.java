package io.quarry.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.flow.FlowEndpoints;
import io.quarry.support.QuarryIntegrationTest;
import java.time.Duration;
import java.util.Optional;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.ActiveProfiles;

/**
 * With the {@code json} profile every console line is a JSON object, and a line logged while a
 * scheduler tick runs carries the stream, the run id and Camel's route id as fields.
 */
@QuarryIntegrationTest
@ActiveProfiles({"test", "json"})
@ExtendWith(OutputCaptureExtension.class)
class JsonLoggingIT {

  static final ObjectMapper JSON = new ObjectMapper();

  @Autowired ProducerTemplate camel;
  @Autowired JdbcClient jdbc;

  @Test
  void aSchedulerTickLogsItsStreamRunAndRouteAsFields(CapturedOutput output) {
    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);
    String runId =
        jdbc.sql("select run_id::text from scheduler_run where stream = 'posts'")
            .query(String.class)
            .single();

    JsonNode line =
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> find(output, runId), Optional::isPresent)
            .orElseThrow();
    assertThat(line.at("/log/level").asText()).isEqualTo("INFO");
    assertThat(line.at("/service/name").asText()).isEqualTo("quarry");
    assertThat(line.path("stream").asText()).isEqualTo("posts");
    assertThat(line.path("runId").asText()).isEqualTo(runId);
    assertThat(line.at("/camel/routeId").asText()).isEqualTo("posts-scheduler");
    assertThat(line.has("userId")).isFalse();
  }

  private static Optional<JsonNode> find(CapturedOutput output, String runId) {
    for (String text : output.getOut().split("\n")) {
      if (!text.startsWith("{") || !text.contains("posts run " + runId)) {
        continue;
      }
      try {
        return Optional.of(JSON.readTree(text));
      } catch (Exception e) {
        throw new AssertionError("not a JSON line: " + text, e);
      }
    }
    return Optional.empty();
  }
}
