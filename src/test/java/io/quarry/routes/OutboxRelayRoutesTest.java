package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;

import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.PublishFailedException;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.bus.amqp.Routed;
import io.quarry.config.OutboxProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.outbox.OutboxMessages;
import io.quarry.routes.outbox.OutboxRelayRoutes;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.AbstractPlatformTransactionManager;
import org.springframework.transaction.support.DefaultTransactionStatus;

/**
 * The outbox relay routes with the database and the broker mocked: what is claimed, what is
 * published as one batch, what is marked published or failed, in which transactions.
 */
class OutboxRelayRoutesTest extends CamelTestSupport {

  private static final int BATCH = 3;
  private static final Instant NOW = Instant.parse("2026-12-06T10:00:00Z");
  private static final String EXCHANGE = "integration-events-qa";

  private final RecordingTransactions transactions = new RecordingTransactions();
  private final List<List<Map<String, Object>>> claims = new ArrayList<>();
  private MockEndpoint claim;
  private MockEndpoint publish;
  private MockEndpoint markPublished;
  private MockEndpoint markFailed;
  private MockEndpoint countPublished;
  private MockEndpoint prune;
  private MockEndpoint markUnfinished;
  private MockEndpoint unfinishedBatches;

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder createRouteBuilder() {
    BusNames names = new BusNames("qa");
    context.getRegistry().bind("transactionManager", transactions);
    context
        .getRegistry()
        .bind("outboxMessages", new OutboxMessages(names, Clock.fixed(NOW, ZoneOffset.UTC)));
    // both are mocked and skipped, but their endpoints must resolve
    context.getRegistry().bind("dataSource", mock(DataSource.class));
    context.addComponent(
        QuarryAmqpComponent.SCHEME, new QuarryAmqpComponent(mock(BatchPublisher.class)));
    Properties placeholders = new Properties();
    placeholders.setProperty("quarry.outbox.poll-interval", "1h");
    context.getPropertiesComponent().setOverrideProperties(placeholders);
    return new OutboxRelayRoutes(properties(), names);
  }

  static QuarryProperties properties() {
    OutboxProperties outbox =
        new OutboxProperties(
            Duration.ofSeconds(1),
            true,
            BATCH,
            Duration.ofSeconds(5),
            Duration.ofSeconds(30),
            Duration.ofDays(7));
    return new QuarryProperties(
        "qa", null, null, null, null, Map.of(), null, Map.of(), outbox, null, null, null);
  }

  private void adviseAndStart() throws Exception {
    AdviceWith.adviceWith(context, "outbox-poll", a -> a.replaceFromWith("direct:poll"));
    AdviceWith.adviceWith(context, "outbox-prune", a -> a.replaceFromWith("direct:prune"));
    for (String route :
        List.of(
            "outbox-relay-batch",
            "outbox-relay-publish",
            "outbox-relay-one-by-one",
            "outbox-relay-one",
            "outbox-relay-back-off",
            "outbox-prune")) {
      AdviceWith.adviceWith(
          context, route, a -> a.mockEndpointsAndSkip("sql:*", "quarry-amqp:*", "micrometer:*"));
    }
    context.start();
    claim = mockOf("claim-due.sql");
    publish = mockOf("quarry-amqp:");
    markPublished = mockOf("mark-published.sql");
    markFailed = mockOf("mark-failed.sql");
    countPublished = mockOf("count-published.sql");
    prune = mockOf("prune-published.sql");
    markUnfinished = mockOf("mark-unfinished.sql");
    unfinishedBatches = mockOf("micrometer:");
    // The claim answers with the next prepared batch, then with nothing.
    claim.whenAnyExchangeReceived(
        exchange -> exchange.getMessage().setBody(claims.isEmpty() ? List.of() : claims.remove(0)));
    markPublished.whenAnyExchangeReceived(
        exchange ->
            exchange
                .getMessage()
                .setHeader("CamelSqlUpdateCount", ids(exchange.getMessage()).length));
  }

  private MockEndpoint mockOf(String uriPart) {
    return context.getEndpoints().stream()
        .filter(e -> e instanceof MockEndpoint && e.getEndpointUri().contains(uriPart))
        .map(MockEndpoint.class::cast)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no mock endpoint for " + uriPart));
  }

  @Test
  void publishesEachClaimedBatchWholeThenMarksItPublished() throws Exception {
    adviseAndStart();
    List<Map<String, Object>> first = List.of(row("A", 5), row("B", 10), row("C", 0));
    List<Map<String, Object>> second = List.of(row("D", 5));
    claims.add(first);
    claims.add(second);
    publish.expectedMessageCount(2);
    markPublished.expectedMessageCount(2);
    markFailed.expectedMessageCount(0);

    Long relayed = template.requestBody("direct:outbox-relay", null, Long.class);

    assertThat(relayed).isEqualTo(4);
    MockEndpoint.assertIsSatisfied(context);
    // a full batch asks for the next one; a short one ends the run
    assertThat(claim.getReceivedExchanges()).hasSize(2);
    assertThat(claim.getReceivedExchanges().get(0).getMessage().getHeader("limit"))
        .isEqualTo(BATCH);

    List<Routed> batch = publishedBatch(0);
    assertThat(batch).hasSize(3);
    assertThat(batch).extracting(Routed::exchange).containsOnly(EXCHANGE);
    assertThat(batch).extracting(Routed::routingKey).containsExactly("A", "B", "C");
    Message a = batch.get(0).message();
    MessageProperties props = a.getMessageProperties();
    assertThat(props.getMessageId()).isEqualTo(first.get(0).get("id").toString());
    assertThat(props.getType()).isEqualTo("A");
    assertThat(props.getPriority()).isEqualTo(5);
    assertThat(props.getDeliveryMode()).isEqualTo(MessageDeliveryMode.PERSISTENT);
    assertThat(props.getContentType()).isEqualTo(MessageProperties.CONTENT_TYPE_JSON);
    assertThat(props.getContentEncoding()).isEqualTo("UTF-8");
    assertThat(props.getTimestamp()).isEqualTo(java.util.Date.from(NOW));
    assertThat(new String(a.getBody(), StandardCharsets.UTF_8)).isEqualTo("{\"type\":\"A\"}");
    assertThat(batch.get(1).message().getMessageProperties().getPriority()).isEqualTo(10);
    assertThat(publishedBatch(1)).extracting(Routed::routingKey).containsExactly("D");

    assertThat(ids(markPublished.getReceivedExchanges().get(0).getMessage()))
        .containsExactly(idsOf(first));
    assertThat(ids(markPublished.getReceivedExchanges().get(1).getMessage()))
        .containsExactly(idsOf(second));
    // one transaction per batch, both committed
    assertThat(transactions.begun).isEqualTo(2);
    assertThat(transactions.committed).isEqualTo(2);
    assertThat(transactions.rolledBack).isZero();
  }

  @Test
  void anEmptyOutboxPublishesNothing() throws Exception {
    adviseAndStart();
    publish.expectedMessageCount(0);
    markPublished.expectedMessageCount(0);

    Long relayed = template.requestBody("direct:outbox-relay", null, Long.class);

    assertThat(relayed).isZero();
    MockEndpoint.assertIsSatisfied(context);
    assertThat(claim.getReceivedExchanges()).hasSize(1);
    assertThat(transactions.committed).isEqualTo(1);
  }

  @Test
  void aRefusedBatchGoesOutOneByOneAndOnlyTheRefusedEventWaits() throws Exception {
    adviseAndStart();
    List<Map<String, Object>> rows = List.of(row("A", 0), row("Poison", 0), row("C", 0));
    claims.add(rows);
    publish.whenAnyExchangeReceived(
        exchange -> {
          Object body = exchange.getMessage().getBody();
          if (body instanceof List<?>
              || ((Routed) body).routingKey().equals("Poison")) { // the batch, then the culprit
            throw new PublishFailedException("unroutable: 312 NO_ROUTE");
          }
        });
    countPublished.returnReplyBody(constantBody(2L));
    markFailed.expectedMessageCount(1);

    Long relayed = template.requestBody("direct:outbox-relay", null, Long.class);

    assertThat(relayed).isEqualTo(2);
    MockEndpoint.assertIsSatisfied(context);
    // the batch, then each event on its own
    assertThat(publish.getReceivedExchanges()).hasSize(4);
    assertThat(publish.getReceivedExchanges().subList(1, 4))
        .extracting(e -> e.getMessage().getBody(Routed.class).routingKey())
        .containsExactly("A", "Poison", "C");
    assertThat(markPublished.getReceivedExchanges())
        .extracting(e -> ids(e.getMessage())[0])
        .containsExactly((UUID) rows.get(0).get("id"), (UUID) rows.get(2).get("id"));
    Exchange failed = markFailed.getReceivedExchanges().get(0);
    assertThat(ids(failed.getMessage())).containsExactly((UUID) rows.get(1).get("id"));
    assertThat(failed.getMessage().getHeader("error", String.class)).contains("NO_ROUTE");
    assertThat(failed.getMessage().getHeader("maxBackoffSeconds")).isEqualTo(30.0);
    assertThat(ids(countPublished.getReceivedExchanges().get(0).getMessage()))
        .containsExactly(idsOf(rows));
    assertThat(transactions.committed).isEqualTo(1);
  }

  @Test
  void aRefusedBatchOfOneWaitsWithoutBeingSentAgain() throws Exception {
    adviseAndStart();
    List<Map<String, Object>> rows = List.of(row("Poison", 0));
    claims.add(rows);
    publish.whenAnyExchangeReceived(
        exchange -> {
          throw new PublishFailedException("unroutable: 312 NO_ROUTE");
        });
    markFailed.expectedMessageCount(1);

    Long relayed = template.requestBody("direct:outbox-relay", null, Long.class);

    assertThat(relayed).isZero();
    MockEndpoint.assertIsSatisfied(context);
    assertThat(publish.getReceivedExchanges()).hasSize(1);
    assertThat(ids(markFailed.getReceivedExchanges().get(0).getMessage()))
        .containsExactly(idsOf(rows));
    assertThat(markPublished.getReceivedExchanges()).isEmpty();
  }

  @Test
  void brokerTroubleLeavesTheWholeBatchWaitingWithABackoff() throws Exception {
    adviseAndStart();
    List<Map<String, Object>> rows = List.of(row("A", 0), row("B", 0), row("C", 0));
    claims.add(rows);
    publish.whenAnyExchangeReceived(
        exchange -> {
          throw timedOut();
        });
    markPublished.expectedMessageCount(0);
    markFailed.expectedMessageCount(1);

    Long relayed = template.requestBody("direct:outbox-relay", null, Long.class);

    assertThat(relayed).isZero();
    MockEndpoint.assertIsSatisfied(context);
    assertThat(publish.getReceivedExchanges()).as("no retry one by one").hasSize(1);
    Exchange failed = markFailed.getReceivedExchanges().get(0);
    assertThat(ids(failed.getMessage())).containsExactly(idsOf(rows));
    assertThat(failed.getMessage().getHeader("error", String.class)).contains("no confirm");
    // the backoff is committed; the run stops until the next poll or wake-up
    assertThat(claim.getReceivedExchanges()).hasSize(1);
    assertThat(transactions.committed).isEqualTo(1);
    assertThat(transactions.rolledBack).isZero();
  }

  @Test
  void troubleWhilePublishingOneByOneLeavesTheRestWaiting() throws Exception {
    adviseAndStart();
    List<Map<String, Object>> rows = List.of(row("A", 0), row("B", 0), row("C", 0));
    claims.add(rows);
    publish.whenExchangeReceived(
        1,
        exchange -> {
          throw new PublishFailedException("nacked by the broker");
        });
    publish.whenExchangeReceived(
        3,
        exchange -> { // B, after A went out on its own
          throw timedOut();
        });
    countPublished.returnReplyBody(constantBody(1L));

    Long relayed = template.requestBody("direct:outbox-relay", null, Long.class);

    assertThat(relayed).isEqualTo(1);
    assertThat(publish.getReceivedExchanges()).as("C is not tried after B timed out").hasSize(3);
    assertThat(markPublished.getReceivedExchanges()).hasSize(1);
    assertThat(ids(markPublished.getReceivedExchanges().get(0).getMessage()))
        .containsExactly((UUID) rows.get(0).get("id"));
    // the whole batch: the statement marks only the events not published or marked yet
    assertThat(markFailed.getReceivedExchanges()).hasSize(1);
    assertThat(ids(markFailed.getReceivedExchanges().get(0).getMessage()))
        .containsExactly(idsOf(rows));
    assertThat(transactions.committed).isEqualTo(1);
  }

  @Test
  void aBatchThatCannotBeMarkedPublishedWaitsWithABackoffOutsideItsTransaction() throws Exception {
    // Issue 16, defect 5: the batch was rolled back as if never claimed, so every poll published it
    // again at once.
    adviseAndStart();
    List<Map<String, Object>> rows = List.of(row("A", 0), row("B", 0));
    claims.add(rows);
    markPublished.whenAnyExchangeReceived(
        exchange -> {
          throw new SQLException("connection lost");
        });
    markFailed.expectedMessageCount(0);
    markUnfinished.expectedMessageCount(1);
    unfinishedBatches.expectedMessageCount(1);

    Long relayed = template.requestBody("direct:outbox-relay", null, Long.class);

    assertThat(relayed).isZero();
    MockEndpoint.assertIsSatisfied(context);
    assertThat(publish.getReceivedExchanges()).hasSize(1);
    // the batch's transaction is rolled back; the backoff is written after it, on its own
    assertThat(transactions.committed).isZero();
    assertThat(transactions.rolledBack).isEqualTo(1);
    Exchange backoff = markUnfinished.getReceivedExchanges().get(0);
    assertThat(ids(backoff.getMessage())).containsExactly(idsOf(rows));
    assertThat(backoff.getMessage().getHeader("error", String.class)).contains("connection lost");
    assertThat(backoff.getMessage().getHeader("maxBackoffSeconds")).isEqualTo(30.0);
    assertThat(backoff.isTransacted()).isFalse();
    // and the run stops until the next poll or wake-up
    assertThat(claim.getReceivedExchanges()).hasSize(1);
  }

  @Test
  void aFailedClaimFailsTheRunWithNothingToBackOff() throws Exception {
    adviseAndStart();
    claim.whenAnyExchangeReceived(
        exchange -> {
          throw new SQLException("connection lost");
        });
    markUnfinished.expectedMessageCount(0);
    publish.expectedMessageCount(0);

    assertThatThrownBy(() -> template.requestBody("direct:outbox-relay", null, Long.class))
        .isInstanceOf(CamelExecutionException.class)
        .hasRootCauseMessage("connection lost");

    MockEndpoint.assertIsSatisfied(context);
    assertThat(transactions.rolledBack).isEqualTo(1);
  }

  @Test
  void thePollWakesTheRelayThroughTheWakeUpQueue() throws Exception {
    adviseAndStart();
    claims.add(List.of(row("A", 0)));
    NotifyBuilder relayed =
        new NotifyBuilder(context).fromRoute("outbox-wakeup").whenDone(1).create();

    template.sendBody("direct:poll", null);

    assertThat(relayed.matches(10, TimeUnit.SECONDS)).isTrue();
    assertThat(publish.getReceivedExchanges()).hasSize(1);
    assertThat(markPublished.getReceivedExchanges()).hasSize(1);
  }

  @Test
  void pruneDeletesEventsPublishedLongerAgoThanTheRetention() throws Exception {
    adviseAndStart();
    prune.expectedMessageCount(1);
    prune.expectedHeaderReceived("retentionSeconds", 7 * 24 * 3600.0);

    template.sendBody("direct:prune", null);

    MockEndpoint.assertIsSatisfied(context);
  }

  private List<Routed> publishedBatch(int index) {
    @SuppressWarnings("unchecked")
    List<Routed> batch = publish.getReceivedExchanges().get(index).getMessage().getBody(List.class);
    return batch;
  }

  private static org.apache.camel.Expression constantBody(Object value) {
    return org.apache.camel.builder.ExpressionBuilder.constantExpression(value);
  }

  private static PublishFailedException timedOut() {
    PublishFailedException failure =
        new PublishFailedException("no confirm within 5000 ms (3 of 3 messages of the batch sent)");
    failure.initCause(new TimeoutException());
    return failure;
  }

  private static Map<String, Object> row(String type, int priority) {
    return Map.of(
        "id",
        UUID.randomUUID(),
        "routing_key",
        type,
        "event_type",
        type,
        "payload",
        "{\"type\":\"" + type + "\"}",
        "priority",
        priority);
  }

  private static UUID[] ids(org.apache.camel.Message message) {
    return message.getHeader("ids", UUID[].class);
  }

  private static UUID[] idsOf(List<Map<String, Object>> rows) {
    return rows.stream().map(r -> (UUID) r.get("id")).toArray(UUID[]::new);
  }

  /** Counts the transactions the relay's {@code transacted()} begins, commits and rolls back. */
  static final class RecordingTransactions extends AbstractPlatformTransactionManager {
    int begun;
    int committed;
    int rolledBack;

    @Override
    protected Object doGetTransaction() {
      return new Object();
    }

    @Override
    protected void doBegin(Object transaction, TransactionDefinition definition) {
      begun++;
    }

    @Override
    protected void doCommit(DefaultTransactionStatus status) {
      committed++;
    }

    @Override
    protected void doRollback(DefaultTransactionStatus status) {
      rolledBack++;
    }
  }
}
