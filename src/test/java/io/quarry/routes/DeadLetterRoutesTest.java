package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyBoolean;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;
import static org.mockito.Mockito.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.bus.Topology;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.config.QuarryProperties;
import io.quarry.deadletter.DeadLetterHeaders;
import io.quarry.deadletter.DeadLetterRepository;
import io.quarry.deadletter.DeadLetterRetry;
import io.quarry.maintenance.JobExecutionRepository;
import io.quarry.routes.deadletter.DeadLetterRoutes;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.Message;

/**
 * The dead-letter retry route: consumes every .dlq, publishes a transient letter to the delay
 * exchange of its retry, routed back to its queue, and parks the others without publishing.
 */
class DeadLetterRoutesTest extends CamelTestSupport {

  private static final String DELAY_5S = "mock:quarry-amqp:exchange:delay-5s-qa";

  private final BusNames names = new BusNames("qa");
  private final QuarryProperties properties = RouteTestProperties.withStream("posts", false);
  private final Topology topology = Topology.of(properties, names);
  private final String miningQueue = names.miningQueue("posts");
  private final DeadLetterRepository parked = mock(DeadLetterRepository.class);
  private final BatchPublisher publisher = mock(BatchPublisher.class);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final JobExecutionRepository runs = mock(JobExecutionRepository.class);

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder createRouteBuilder() {
    context.addComponent(QuarryAmqpComponent.SCHEME, new QuarryAmqpComponent(publisher));
    // The test properties allow no retries: one is enough to show the way back.
    QuarryProperties oneRetry =
        io.quarry.support.TestProperties.of(
            null, properties.streams(), io.quarry.support.TestProperties.mining(65536, 1));
    context
        .getRegistry()
        .bind(
            "retry",
            new DeadLetterRetry(parked, names, new ObjectMapper(), meters, oneRetry, topology));
    context.getRegistry().bind("jobExecutionRepository", runs);
    return new DeadLetterRoutes(topology, names, new Endpoints(names));
  }

  private void start() throws Exception {
    AdviceWith.adviceWith(context, "dead-letter-retry", a -> a.replaceFromWith("direct:dlq"));
    AdviceWith.adviceWith(
        context, "dead-letter-retry-worker", a -> a.mockEndpointsAndSkip("quarry-amqp:*"));
    context.start();
  }

  private void deadLetter(Map<String, Object> headers) {
    template.sendBodyAndHeaders(
        "direct:dlq", "{\"userId\":7}".getBytes(StandardCharsets.UTF_8), new HashMap<>(headers));
  }

  @Test
  void consumesEveryDeadLetterQueueKeepingWhatItCannotHandle() {
    String uri = context.getRouteDefinition("dead-letter-retry").getInput().getEndpointUri();
    assertThat(uri)
        .contains("posts-mining-queue.dlq-qa")
        .contains("posts-data-topic.raw-storage.dlq-qa")
        .contains("notification.integration-events.dlq-qa")
        .contains("rejectAndDontRequeue=false");
  }

  @Test
  void aTransientLetterGoesToTheDelayExchangeRoutedBackToItsQueue() throws Exception {
    start();
    MockEndpoint delay = getMockEndpoint(DELAY_5S);
    delay.expectedMessageCount(1);
    delay.expectedHeaderReceived(QuarryAmqpComponent.ROUTING_KEY, miningQueue);

    deadLetter(
        Map.of(
            DeadLetterHeaders.SOURCE_QUEUE,
            miningQueue,
            DeadLetterHeaders.TRANSIENT,
            true,
            DeadLetterHeaders.ATTEMPTS,
            4,
            "CamelSpringRabbitmqContentType",
            "application/json",
            // an inbound Camel header must not steer the letter elsewhere
            QuarryAmqpComponent.ROUTING_KEY,
            "somewhere-else"));

    delay.assertIsSatisfied();
    Message back = delay.getReceivedExchanges().get(0).getMessage().getBody(Message.class);
    assertThat(new String(back.getBody(), StandardCharsets.UTF_8)).isEqualTo("{\"userId\":7}");
    assertThat(back.getMessageProperties().getContentType()).isEqualTo("application/json");
    assertThat(back.getMessageProperties().getHeaders())
        .containsEntry(DeadLetterHeaders.ATTEMPTS, 4)
        .containsEntry(DeadLetterHeaders.RETRIES, 1);
    assertThat(meters.counter("quarry.dead.letters.retried").count()).isEqualTo(1);
    verifyNoInteractions(parked);
    verifyNoInteractions(publisher);
  }

  @Test
  void aPermanentLetterIsParkedAndNothingIsPublished() throws Exception {
    start();
    deadLetter(
        Map.of(
            DeadLetterHeaders.SOURCE_QUEUE,
            miningQueue,
            DeadLetterHeaders.TRANSIENT,
            false,
            DeadLetterHeaders.REASON,
            "missing or invalid userId"));

    verify(parked)
        .park(
            eq(miningQueue),
            any(),
            anyString(),
            any(),
            any(),
            any(),
            eq("missing or invalid userId"),
            any(),
            any(),
            anyInt(),
            eq(true));
    assertThat(context.getEndpoints())
        .noneMatch(e -> e.getEndpointUri().startsWith("mock://quarry-amqp"));
    assertThat(meters.counter("quarry.dead.letters.retried").count()).isZero();
    verifyNoInteractions(runs); // not a maintenance event
  }

  @Test
  void aParkedMaintenanceEventFailsItsJobRun() throws Exception {
    start();
    when(parked.park(
            any(),
            any(),
            any(),
            any(),
            any(),
            any(),
            any(),
            any(),
            any(),
            anyInt(),
            org.mockito.ArgumentMatchers.anyBoolean()))
        .thenReturn(41L);
    byte[] event = "{\"payload\":{\"executionId\":12}}".getBytes(StandardCharsets.UTF_8);

    template.sendBodyAndHeaders(
        "direct:dlq",
        event,
        new HashMap<>(
            Map.of(
                DeadLetterHeaders.SOURCE_QUEUE,
                names.highPriorityNotificationEventsQueue(),
                DeadLetterHeaders.TRANSIENT,
                false,
                DeadLetterHeaders.REASON,
                "unknown integration event type X")));

    verify(runs).failForParkedEvent(event, "unknown integration event type X", 41L);
  }

  @Test
  void aLetterWhoseRetriesAreUsedUpIsParked() throws Exception {
    start();

    deadLetter(
        Map.of(
            DeadLetterHeaders.SOURCE_QUEUE,
            miningQueue,
            DeadLetterHeaders.TRANSIENT,
            true,
            DeadLetterHeaders.RETRIES,
            1));

    verify(parked)
        .park(
            eq(miningQueue),
            any(),
            anyString(),
            any(),
            any(),
            any(),
            anyString(),
            any(),
            any(),
            anyInt(),
            anyBoolean());
    assertThat(context.getEndpoints())
        .noneMatch(e -> e.getEndpointUri().startsWith("mock://quarry-amqp"));
  }
}
