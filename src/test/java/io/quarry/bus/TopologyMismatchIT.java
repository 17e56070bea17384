package io.quarry.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.quarry.QuarryApplication;
import io.quarry.support.Causes;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.mock.env.MockEnvironment;

@ExtendWith(OutputCaptureExtension.class)
class TopologyMismatchIT {

  private final String env = IsolatedEnvironment.newName();
  private final MockEnvironment props =
      new MockEnvironment()
          .withProperty("quarry.environment", env)
          .withProperty("quarry.database.schema", env);

  @AfterEach
  void cleanUp() throws Exception {
    Services.from(props).dropEnvironment(props);
  }

  @Test
  void aQueueThatExistsWithOtherArgumentsStopsStartUpNamingTheQueue(CapturedOutput output)
      throws Exception {
    String queue = "posts-mining-queue-" + env;
    try (Connection connection = Services.from(props).amqp();
        Channel channel = connection.createChannel()) {
      channel.queueDeclare(queue, true, false, false, Map.of());
    }

    assertThatThrownBy(
            () ->
                new SpringApplicationBuilder(QuarryApplication.class)
                    .environment(new StandardEnvironment())
                    .profiles("test")
                    .run(
                        "--quarry.environment=" + env,
                        "--quarry.database.schema=" + env,
                        "--server.port=0"))
        .hasRootCauseInstanceOf(com.rabbitmq.client.ShutdownSignalException.class)
        .satisfies(
            e ->
                assertThat(Causes.find(e, TopologyMismatchException.class))
                    .as("a TopologyMismatchException in the cause chain")
                    .isNotNull()
                    .extracting(Throwable::getMessage)
                    .asString()
                    .contains("queue '" + queue + "'")
                    .contains("inequivalent arg 'x-dead-letter-exchange'"));
    assertThat(output).contains("APPLICATION FAILED TO START").contains(queue);
  }

  @Test
  void aClassicQueueWhereQuorumIsConfiguredStopsStartUpNamingTheQueueType(CapturedOutput output)
      throws Exception {
    String queue = "posts-mining-queue-" + env;
    try (Connection connection = Services.from(props).amqp();
        Channel channel = connection.createChannel()) {
      // What an earlier, classic deployment declared: the same dead-lettering, no queue type.
      channel.queueDeclare(
          queue,
          true,
          false,
          false,
          Map.of(
              "x-dead-letter-exchange",
              "dead-letters-" + env,
              "x-dead-letter-routing-key",
              "posts-mining-queue.dlq-" + env));
    }

    assertThatThrownBy(
            () ->
                new SpringApplicationBuilder(QuarryApplication.class)
                    .environment(new StandardEnvironment())
                    .profiles("test")
                    .run(
                        "--quarry.environment=" + env,
                        "--quarry.database.schema=" + env,
                        "--quarry.rabbitmq.queue-types.work=quorum",
                        "--server.port=0"))
        .satisfies(
            e ->
                assertThat(Causes.find(e, TopologyMismatchException.class))
                    .as("a TopologyMismatchException in the cause chain")
                    .isNotNull()
                    .extracting(Throwable::getMessage)
                    .asString()
                    .contains("queue '" + queue + "' (quorum, durable")
                    .contains("inequivalent arg"));
    assertThat(output)
        .contains("APPLICATION FAILED TO START")
        .contains(queue)
        .contains("quarry.rabbitmq.queue-types");
  }
}
