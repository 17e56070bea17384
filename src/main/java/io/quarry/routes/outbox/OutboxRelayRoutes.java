package io.quarry.routes.outbox;

import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.PublishFailedException;
import io.quarry.config.OutboxProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
import io.quarry.outbox.OutboxMessages;
import java.util.List;
import org.apache.camel.LoggingLevel;
import org.apache.camel.Predicate;
import org.apache.camel.builder.PredicateBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.sql.SqlConstants;
import org.springframework.amqp.AmqpException;
import org.springframework.stereotype.Component;

/**
 * The outbox relay: publishes committed integration events to RabbitMQ, woken by the poll ({@code
 * quarry.outbox.poll-interval}) and by PostgreSQL NOTIFY on commit; prunes published rows after
 * {@code quarry.outbox.retention}.
 *
 * <p>Batch after batch, each in one short transaction: claim up to {@code batch-size} due events in
 * creation order ({@code FOR UPDATE SKIP LOCKED}: other instances skip them), publish them as one
 * batch with one confirm wait, mark them published. If the broker refuses a message of the batch (a
 * nack, or a return as unroutable), the batch is published again event by event, so only the
 * refused events wait; the others may arrive twice (consumers drop duplicates by event id). If the
 * broker is in trouble (no channel, no confirm in time, channel closed), every event of the batch
 * not yet published waits with a backoff. If the batch's transaction itself fails after the claim
 * (marking the events published fails, or the commit), it is rolled back, and the batch then waits
 * with a backoff written in a statement of its own ({@code quarry.outbox.unfinished.batches} counts
 * these): without it, the batch would be claimed and published again at every poll. Poll and
 * wake-up both go through the one-slot wake-up queue, so an instance runs one relay at a time and
 * publishes in creation order.
 */
@Component
public class OutboxRelayRoutes extends RouteBuilder {

  static final String RELAY_BATCH = "direct:outbox-relay-batch";
  static final String PUBLISH_BATCH = "direct:outbox-relay-publish";
  static final String ONE_BY_ONE = "direct:outbox-relay-one-by-one";
  static final String PUBLISH_ONE = "direct:outbox-relay-one";
  static final String BACK_OFF = "direct:outbox-relay-back-off";

  static final String CLAIM_DUE = "sql:classpath:sql/outbox/claim-due.sql?parametersCount=1";
  static final String MARK_PUBLISHED =
      "sql:classpath:sql/outbox/mark-published.sql?parametersCount=1";
  static final String MARK_FAILED = "sql:classpath:sql/outbox/mark-failed.sql?parametersCount=3";
  static final String MARK_UNFINISHED =
      "sql:classpath:sql/outbox/mark-unfinished.sql?parametersCount=3";
  static final String UNFINISHED_BATCHES = "micrometer:counter:quarry.outbox.unfinished.batches";
  static final String COUNT_PUBLISHED =
      "sql:classpath:sql/outbox/count-published.sql?parametersCount=1&outputType=SelectOne";
  static final String PRUNE = "sql:classpath:sql/outbox/prune-published.sql?parametersCount=1";

  // Parameters of the outbox statements, as headers (quarry-amqp publishes only the body).
  static final String LIMIT = "limit";
  static final String IDS = "ids";
  static final String ERROR = "error";
  static final String MAX_BACKOFF_SECONDS = "maxBackoffSeconds";
  static final String RETENTION_SECONDS = "retentionSeconds";

  // Variables of one relay run: the claimed batch's ids, the last batch's and the run's count.
  static final String BATCH_IDS = "outboxBatchIds";
  static final String PUBLISHED = "outboxPublished";
  static final String RELAYED = "outboxRelayed";

  private static final Predicate REFUSED_BY_BROKER =
      exchange -> OutboxMessages.refusedByBroker(exchange.getException());

  /** A refused batch of more than one event: the others may go through on their own. */
  private static final Predicate REFUSED_IN_A_BATCH =
      PredicateBuilder.and(
          REFUSED_BY_BROKER, exchange -> exchange.getMessage().getBody(List.class).size() > 1);

  private final OutboxProperties outbox;
  private final String publish;

  public OutboxRelayRoutes(QuarryProperties properties, BusNames names) {
    this.outbox = properties.outbox();
    this.publish =
        "quarry-amqp:exchange:"
            + names.integrationEventsExchange()
            + "?confirmTimeout="
            + outbox.confirmTimeout().toMillis();
  }

  @Override
  public void configure() {
    from("timer:outbox-poll?period={{quarry.outbox.poll-interval}}&delay=0")
        .routeId("outbox-poll")
        .to(FlowEndpoints.OUTBOX_WAKEUP);

    from(FlowEndpoints.OUTBOX_WAKEUP).routeId("outbox-wakeup").to(FlowEndpoints.OUTBOX_RELAY);

    from(FlowEndpoints.OUTBOX_RELAY)
        .routeId("outbox-relay")
        .setHeader(LIMIT, constant(outbox.batchSize()))
        .setHeader(MAX_BACKOFF_SECONDS, constant(outbox.maxBackoff().toMillis() / 1000.0))
        .setVariable(RELAYED, constant(0L))
        .setVariable(PUBLISHED, constant(outbox.batchSize()))
        .loopDoWhile(variable(PUBLISHED).isEqualTo(outbox.batchSize()))
        .removeVariable(BATCH_IDS)
        .doTry()
        .to(RELAY_BATCH)
        .doCatch(Exception.class)
        .onWhen(variable(BATCH_IDS).isNotNull())
        .to(BACK_OFF)
        .setBody(constant(0))
        .end()
        .setVariable(PUBLISHED, body())
        .setVariable(
            RELAYED, method(OutboxMessages.class, "add(${variable." + RELAYED + "}, ${body})"))
        .end()
        .setBody(variable(RELAYED))
        .log(LoggingLevel.DEBUG, "Outbox relay published ${body} events");

    from(RELAY_BATCH)
        .routeId("outbox-relay-batch")
        .transacted()
        .to(CLAIM_DUE)
        .choice()
        .when(simple("${body.isEmpty()}"))
        .setBody(constant(0))
        .otherwise()
        .to(PUBLISH_BATCH)
        .end();

    from(PUBLISH_BATCH)
        .routeId("outbox-relay-publish")
        .setVariable(BATCH_IDS, method(OutboxMessages.class, "idsOf"))
        .setHeader(IDS, variable(BATCH_IDS))
        .bean(OutboxMessages.class, "toMessages")
        .doTry()
        .to(publish)
        .to(MARK_PUBLISHED)
        .setBody(header(SqlConstants.SQL_UPDATE_COUNT))
        .doCatch(PublishFailedException.class)
        .onWhen(REFUSED_IN_A_BATCH)
        .log(
            LoggingLevel.WARN,
            "Outbox relay: the broker refused an event of a batch of ${body.size()}, publishing"
                + " them one by one: ${exception.message}")
        .to(ONE_BY_ONE)
        .doCatch(PublishFailedException.class, AmqpException.class)
        .log(
            LoggingLevel.WARN,
            "Outbox relay could not publish ${body.size()} events, they wait with a backoff:"
                + " ${exception.message}")
        .setHeader(ERROR, simple("${exception.message}"))
        .to(MARK_FAILED)
        .setBody(constant(0))
        .end();

    from(ONE_BY_ONE)
        .routeId("outbox-relay-one-by-one")
        .doTry()
        .split(body())
        .stopOnException()
        .to(PUBLISH_ONE)
        .endDoTry()
        .doCatch(PublishFailedException.class, AmqpException.class)
        .log(
            LoggingLevel.WARN,
            "Outbox relay stopped publishing one by one, the rest waits with a backoff:"
                + " ${exception.message}")
        .setHeader(IDS, variable(BATCH_IDS))
        .setHeader(ERROR, simple("${exception.message}"))
        .to(MARK_FAILED)
        .end()
        .setHeader(IDS, variable(BATCH_IDS))
        .to(COUNT_PUBLISHED);

    from(PUBLISH_ONE)
        .routeId("outbox-relay-one")
        .setHeader(IDS, method(OutboxMessages.class, "idOf"))
        .doTry()
        .to(publish)
        .to(MARK_PUBLISHED)
        .doCatch(PublishFailedException.class)
        .onWhen(REFUSED_BY_BROKER)
        .log(
            LoggingLevel.WARN,
            "Outbox event ${header."
                + IDS
                + "[0]} refused by the broker, it waits with a"
                + " backoff: ${exception.message}")
        .setHeader(ERROR, simple("${exception.message}"))
        .to(MARK_FAILED)
        .end();

    from(BACK_OFF)
        .routeId("outbox-relay-back-off")
        .setHeader(IDS, variable(BATCH_IDS))
        .setHeader(ERROR, simple("the batch's transaction failed: ${exception.message}"))
        .log(
            LoggingLevel.WARN,
            "Outbox relay could not finish a batch of ${header."
                + IDS
                + ".length} events (published or not, they are not marked published):"
                + " ${exception.message}. They wait with a backoff from 1 s up to"
                + " quarry.outbox.max-backoff and may be published again.")
        .to(UNFINISHED_BATCHES)
        .to(MARK_UNFINISHED);

    from("timer:outbox-prune?period=60000&delay=60000")
        .routeId("outbox-prune")
        .setHeader(RETENTION_SECONDS, constant(outbox.retention().toMillis() / 1000.0))
        .to(PRUNE)
        .log(LoggingLevel.DEBUG, "Outbox pruned ${header.CamelSqlUpdateCount} published events");
  }
}
