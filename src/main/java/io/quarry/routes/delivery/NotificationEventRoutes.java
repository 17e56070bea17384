package io.quarry.routes.delivery;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.config.QuarryProperties;
import io.quarry.deadletter.DeadLetterHeaders;
import io.quarry.maintenance.JobExecutionRepository;
import io.quarry.message.InvalidMessageException;
import io.quarry.notification.EmailRepository;
import io.quarry.notification.NotificationConfig;
import io.quarry.notification.WindowedIdempotentRepository;
import io.quarry.outbox.IntegrationEvent;
import io.quarry.routes.deadletter.BusErrorHandling;
import org.apache.camel.Exchange;
import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.model.dataformat.JsonLibrary;
import org.springframework.stereotype.Component;

/**
 * The notification side of the integration events: each event id is handled once within the
 * duplicate window (shared by all instances); the cleanup event deletes sent mail past retention,
 * the resend event puts failed mail with attempts left back in line for the sender. An event that
 * cannot be read, or has an unknown type, is dead-lettered with the reason (BusErrorHandling). What
 * the event did ("8 mails re-queued") closes the job execution that queued it (the event's {@code
 * executionId}), so the run's history line shows its effect, not only that it was queued.
 */
@Component
public class NotificationEventRoutes extends RouteBuilder {

  public static final String HANDLE = "direct:notification-event";

  /** The job execution that queued the event (its payload's {@code executionId}), if any. */
  static final String EXECUTION_ID = "quarryExecutionId";

  /** What the handled event did, counted in the body: {@code mail(s) deleted}. */
  static final String EFFECT = "quarryEffect";

  private final Endpoints endpoints;
  private final BusNames names;
  private final QuarryProperties properties;
  private final MeterRegistry metrics;

  public NotificationEventRoutes(
      Endpoints endpoints, BusNames names, QuarryProperties properties, MeterRegistry metrics) {
    this.endpoints = endpoints;
    this.names = names;
    this.properties = properties;
    this.metrics = metrics;
  }

  @Override
  public void configure() {
    var notification = properties.notification();
    var duplicates =
        metrics.counter("quarry.events.duplicates.dropped", "consumer", "notification-events");

    from(endpoints.integrationEventsConsumer(1, 20))
        .routeId("notification-events")
        .setProperty(
            DeadLetterHeaders.SOURCE_QUEUE_PROPERTY, constant(names.notificationEventsQueue()))
        .to(HANDLE);

    from(endpoints.highPriorityEventsConsumer(1, 20))
        .routeId("notification-events-high")
        .setProperty(
            DeadLetterHeaders.SOURCE_QUEUE_PROPERTY,
            constant(names.highPriorityNotificationEventsQueue()))
        .to(HANDLE);

    from(HANDLE)
        .routeId("notification-event")
        .routeConfigurationId(BusErrorHandling.ID)
        .removeHeaders("Camel*")
        .unmarshal()
        .json(JsonLibrary.Jackson, IntegrationEvent.class)
        .idempotentConsumer(simple("${body.id}"))
        .idempotentRepository("#" + NotificationConfig.EVENT_IDS)
        .skipDuplicate(false)
        .filter(exchangeProperty(Exchange.DUPLICATE_MESSAGE).isEqualTo(true))
        .process(exchange -> duplicates.increment())
        .log(LoggingLevel.INFO, "Dropped duplicate event ${body.id} (${body.type})")
        .stop()
        .end()
        .setHeader(EXECUTION_ID, simple("${body.payload[executionId]}"))
        .choice()
        .when(simple("${body.type} == 'CleanUpSentEmailIntegrationEvent'"))
        .setBody(constant(notification.sentRetention()))
        .setHeader("batchSize", constant(notification.cleanupBatchSize()))
        .bean(EmailRepository.class, "deleteSentOlderThan(${body}, ${header.batchSize})")
        .id("clean-up-sent-email")
        .setHeader(EFFECT, constant("mail(s) deleted"))
        .log("Cleanup deleted ${body} sent emails (execution ${header.quarryExecutionId})")
        .when(simple("${body.type} == 'ResendErrorEmailIntegrationEvent'"))
        .setBody(constant(notification.maxAttempts()))
        .bean(EmailRepository.class, "requeueFailed")
        .id("resend-error-email")
        .setHeader(EFFECT, constant("mail(s) re-queued"))
        .log(
            "Resend put ${body} failed emails back in line (execution ${header.quarryExecutionId})")
        .otherwise()
        // No retry makes an unknown type known: dead-lettered at once, as permanent.
        .throwException(
            InvalidMessageException.class, "unknown integration event type ${body.type}")
        .end()
        .filter(header(EXECUTION_ID).regex("[0-9]{1,18}"))
        .bean(
            JobExecutionRepository.class,
            "recordEffect(${header.quarryExecutionId}, ${body}, ${header.quarryEffect})")
        .id("record-job-effect")
        .end();

    from("timer:notification-event-ids-expiry?period=60000&delay=60000")
        .routeId("notification-event-ids-expiry")
        .bean(WindowedIdempotentRepository.class, "expire");
  }
}
