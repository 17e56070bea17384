package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;
import static org.mockito.Mockito.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.config.QuarryProperties;
import io.quarry.deadletter.DeadLetterHeaders;
import io.quarry.flow.FlowEndpoints;
import io.quarry.maintenance.JobExecutionRepository;
import io.quarry.notification.EmailRepository;
import io.quarry.notification.NotificationConfig;
import io.quarry.notification.WindowedIdempotentRepository;
import io.quarry.routes.deadletter.BusErrorHandling;
import io.quarry.routes.delivery.NotificationEventRoutes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.jackson.JacksonDataFormat;
import org.apache.camel.spi.DataFormatFactory;
import org.apache.camel.support.processor.idempotent.MemoryIdempotentRepository;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;

/**
 * The notification side of the integration events, with the mail table and the dead-letter
 * publisher mocked and the shared duplicate window in memory: each event type does its work once
 * per id; anything else is dead-lettered.
 */
class NotificationEventRoutesTest extends CamelTestSupport {

  private final EmailRepository emails = mock(EmailRepository.class);
  private final JobExecutionRepository executions = mock(JobExecutionRepository.class);
  private final MemoryIdempotentRepository eventIds = new MemoryIdempotentRepository();
  private final WindowedIdempotentRepository windowedIds = mock(WindowedIdempotentRepository.class);
  private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
  private final List<Exchange> deadLettered = new ArrayList<>();

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder[] createRouteBuilders() {
    context.getRegistry().bind("emailRepository", emails);
    context.getRegistry().bind("jobExecutionRepository", executions);
    // what application.yaml gives camel-jackson (auto-discover-object-mapper): Spring's
    // ObjectMapper, which reads java.time
    context.getRegistry().bind("objectMapper", new ObjectMapper().findAndRegisterModules());
    context
        .getRegistry()
        .bind(
            "jackson-dataformat-factory",
            (DataFormatFactory)
                () -> {
                  JacksonDataFormat jackson = new JacksonDataFormat();
                  jackson.setAutoDiscoverObjectMapper(true);
                  return jackson;
                });
    // the duplicate check in memory; the expiry route finds the PostgreSQL one by its type
    context.getRegistry().bind(NotificationConfig.EVENT_IDS, eventIds);
    context.getRegistry().bind("windowedIds", windowedIds);
    QuarryProperties properties = EmailSenderRoutesTest.notificationProperties();
    BusNames names = new BusNames("qa");
    return new RoutesBuilder[] {
      new BusErrorHandling(properties),
      // the dead-letter route is BusErrorHandlingTest's: here, what the error handler hands it
      new RouteBuilder() {
        @Override
        public void configure() {
          from(FlowEndpoints.DEAD_LETTER).process(exchange -> deadLettered.add(exchange.copy()));
        }
      },
      new NotificationEventRoutes(new Endpoints(names), names, properties, metrics)
    };
  }

  private void start() throws Exception {
    AdviceWith.adviceWith(context, "notification-events", a -> a.replaceFromWith("direct:events"));
    AdviceWith.adviceWith(
        context, "notification-events-high", a -> a.replaceFromWith("direct:high-events"));
    AdviceWith.adviceWith(
        context,
        "notification-event-ids-expiry",
        a -> a.replaceFromWith("direct:expire-event-ids"));
    context.start();
  }

  @Test
  void aCleanUpEventDeletesSentMailPastTheRetentionInBatches() throws Exception {
    start();
    when(emails.deleteSentOlderThan(Duration.ofDays(30), 1000)).thenReturn(3);

    template.sendBody(
        "direct:events", event(UUID.randomUUID(), "CleanUpSentEmailIntegrationEvent"));

    verify(emails).deleteSentOlderThan(Duration.ofDays(30), 1000);
    assertThat(deadLettered).isEmpty();
  }

  @Test
  void theEffectOfAnEventClosesTheJobExecutionThatQueuedIt() throws Exception {
    start();
    when(emails.deleteSentOlderThan(Duration.ofDays(30), 1000)).thenReturn(2503);
    when(emails.requeueFailed(5)).thenReturn(8);

    template.sendBody(
        "direct:events", event(UUID.randomUUID(), "CleanUpSentEmailIntegrationEvent", 41));
    template.sendBody(
        "direct:events", event(UUID.randomUUID(), "ResendErrorEmailIntegrationEvent", 42));

    verify(executions).recordEffect(41L, 2503L, "mail(s) deleted");
    verify(executions).recordEffect(42L, 8L, "mail(s) re-queued");
    assertThat(JobExecutionRepository.effect(2503, "mail(s) deleted"))
        .isEqualTo("2,503 mails deleted");
    assertThat(JobExecutionRepository.effect(1, "mail(s) re-queued")).isEqualTo("1 mail re-queued");
    assertThat(deadLettered).isEmpty();
  }

  @Test
  void anEventWithoutAnExecutionIdRecordsNoEffect() throws Exception {
    start();

    template.sendBody(
        "direct:events", event(UUID.randomUUID(), "ResendErrorEmailIntegrationEvent"));

    verify(emails).requeueFailed(5);
    verifyNoInteractions(executions);
  }

  @Test
  void aResendEventPutsFailedMailWithAttemptsLeftBackInLine() throws Exception {
    start();

    template.sendBody(
        "direct:events", event(UUID.randomUUID(), "ResendErrorEmailIntegrationEvent"));

    verify(emails).requeueFailed(5);
    assertThat(deadLettered).isEmpty();
  }

  @Test
  void aHighPriorityEventIsHandledByTheSameFlowAndOnlyOnceBesideItsNormalCopy() throws Exception {
    start();
    UUID id = UUID.randomUUID();

    template.sendBody("direct:high-events", event(id, "ResendErrorEmailIntegrationEvent"));
    template.sendBody("direct:events", event(id, "ResendErrorEmailIntegrationEvent"));

    verify(emails, times(1)).requeueFailed(5);
    assertThat(deadLettered).isEmpty();
  }

  @Test
  void anEventSeenAgainWithinTheWindowIsDroppedAndCounted() throws Exception {
    start();
    UUID id = UUID.randomUUID();

    template.sendBody("direct:events", event(id, "ResendErrorEmailIntegrationEvent"));
    template.sendBody("direct:events", event(id, "ResendErrorEmailIntegrationEvent"));

    verify(emails, times(1)).requeueFailed(5);
    assertThat(
            metrics
                .counter("quarry.events.duplicates.dropped", "consumer", "notification-events")
                .count())
        .isEqualTo(1.0);
  }

  @Test
  void anUnknownTypeIsDeadLetteredAtOnceAsPermanentAndItsIdForgotten() throws Exception {
    start();
    UUID id = UUID.randomUUID();
    byte[] body = event(id, "SomethingElseIntegrationEvent");

    template.sendBody("direct:events", body);

    verifyNoInteractions(emails);
    assertThat(deadLettered).hasSize(1);
    Exchange dead = deadLettered.get(0);
    // it can never succeed: parked at once, not tried 16 times over a minute and a half first
    assertThat(dead.getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY)).isEqualTo(false);
    assertThat(dead.getProperty(Exchange.REDELIVERY_COUNTER, 0, Integer.class)).isZero();
    assertThat(dead.getProperty(DeadLetterHeaders.SOURCE_QUEUE_PROPERTY))
        .isEqualTo("notification.integration-events-qa");
    assertThat(dead.getMessage().getBody(byte[].class)).as("the original message").isEqualTo(body);
    assertThat(dead.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class))
        .hasMessageContaining("unknown integration event type SomethingElseIntegrationEvent");
    // a re-queued copy must not be dropped as a duplicate
    assertThat(eventIds.contains(id.toString())).isFalse();
  }

  @Test
  void anEventThatIsNotJsonIsDeadLetteredAtOnceAsPermanent() throws Exception {
    start();

    template.sendBody("direct:events", "not json".getBytes(StandardCharsets.UTF_8));

    verifyNoInteractions(emails);
    assertThat(deadLettered).hasSize(1);
    assertThat(deadLettered.get(0).getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY))
        .isEqualTo(false);
  }

  @Test
  void theExpiryForgetsIdsOlderThanTheWindow() throws Exception {
    start();

    template.sendBody("direct:expire-event-ids", null);

    verify(windowedIds).expire();
  }

  private static byte[] event(UUID id, String type) {
    return event(id, type, null);
  }

  private static byte[] event(UUID id, String type, Integer executionId) {
    return ("{\"id\":\""
            + id
            + "\",\"type\":\""
            + type
            + "\",\"occurredAt\":\"2026-12-06T00:00:00Z\",\"payload\":{\"job\":\"x\""
            + (executionId == null ? "" : ",\"executionId\":" + executionId)
            + "}}")
        .getBytes(StandardCharsets.UTF_8);
  }
}
