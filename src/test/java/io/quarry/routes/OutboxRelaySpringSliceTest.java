package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.bus.amqp.Routed;
import io.quarry.outbox.OutboxMessages;
import io.quarry.routes.outbox.OutboxRelayRoutes;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.spring.boot.CamelAutoConfiguration;
import org.apache.camel.test.spring.junit5.CamelSpringBootTest;
import org.apache.camel.test.spring.junit5.UseAdviceWith;
import org.junit.jupiter.api.Test;
import org.mockito.Mockito;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The outbox relay routes in a Spring Boot context of their own: Camel's auto-configuration, the
 * route class and its transformation bean, with the database, the broker and the transaction
 * manager replaced by stand-ins (no RabbitMQ, no PostgreSQL). Checks the wiring the plain route
 * test cannot: the routes come up from Spring, {@code transacted()} finds Spring's transaction
 * manager, the poll's placeholder resolves from the environment, and a poll publishes a claimed
 * batch.
 */
@CamelSpringBootTest
@UseAdviceWith
@SpringBootTest(
    classes = OutboxRelaySpringSliceTest.Slice.class,
    properties = "quarry.outbox.poll-interval=1h")
class OutboxRelaySpringSliceTest {

  @Configuration(proxyBeanMethods = false)
  @ImportAutoConfiguration(CamelAutoConfiguration.class)
  static class Slice {
    // built here rather than bound from quarry.*: the slice has no full configuration to validate
    @Bean
    OutboxRelayRoutes outboxRelayRoutes() {
      return new OutboxRelayRoutes(OutboxRelayRoutesTest.properties(), new BusNames("qa"));
    }

    @Bean
    OutboxMessages outboxMessages() {
      return new OutboxMessages(new BusNames("qa"), Clock.systemUTC());
    }

    @Bean(QuarryAmqpComponent.SCHEME)
    QuarryAmqpComponent quarryAmqp() {
      return new QuarryAmqpComponent(Mockito.mock(BatchPublisher.class));
    }

    @Bean
    DataSource dataSource() {
      return Mockito.mock(DataSource.class);
    }

    @Bean
    OutboxRelayRoutesTest.RecordingTransactions transactionManager() {
      return new OutboxRelayRoutesTest.RecordingTransactions();
    }
  }

  @Autowired CamelContext camel;
  @Autowired ProducerTemplate producer;
  @Autowired OutboxRelayRoutesTest.RecordingTransactions transactions;

  @Test
  void aPollOfTheSpringWiredRelayPublishesTheClaimedEventsInOneTransaction() throws Exception {
    AdviceWith.adviceWith(camel, "outbox-poll", a -> a.replaceFromWith("direct:poll"));
    for (String route :
        List.of(
            "outbox-relay-batch",
            "outbox-relay-publish",
            "outbox-relay-one-by-one",
            "outbox-relay-one")) {
      AdviceWith.adviceWith(camel, route, a -> a.mockEndpointsAndSkip("sql:*", "quarry-amqp:*"));
    }
    camel.start();
    MockEndpoint claim = mock("claim-due.sql");
    MockEndpoint publish = mock("quarry-amqp:");
    MockEndpoint markPublished = mock("mark-published.sql");
    UUID id = UUID.randomUUID();
    claim.whenExchangeReceived(
        1,
        exchange ->
            exchange
                .getMessage()
                .setBody(
                    List.of(
                        Map.of(
                            "id",
                            id,
                            "routing_key",
                            "CleanUpSentEmailIntegrationEvent",
                            "event_type",
                            "CleanUpSentEmailIntegrationEvent",
                            "payload",
                            "{}",
                            "priority",
                            5))));
    markPublished.whenAnyExchangeReceived(
        exchange -> exchange.getMessage().setHeader("CamelSqlUpdateCount", 1));
    NotifyBuilder relayed =
        new NotifyBuilder(camel).fromRoute("outbox-wakeup").whenDone(1).create();

    producer.sendBody("direct:poll", null);

    assertThat(relayed.matches(10, TimeUnit.SECONDS)).isTrue();
    assertThat(publish.getReceivedExchanges()).hasSize(1);
    @SuppressWarnings("unchecked")
    List<Routed> batch = publish.getReceivedExchanges().get(0).getMessage().getBody(List.class);
    assertThat(batch).hasSize(1);
    assertThat(batch.get(0).exchange()).isEqualTo("integration-events-qa");
    assertThat(batch.get(0).routingKey()).isEqualTo("CleanUpSentEmailIntegrationEvent");
    assertThat(batch.get(0).message().getMessageProperties().getMessageId())
        .isEqualTo(id.toString());
    assertThat(markPublished.getReceivedExchanges().get(0).getMessage().getHeader("ids"))
        .isEqualTo(new UUID[] {id});
    assertThat(transactions.committed).isEqualTo(1);
    assertThat(transactions.rolledBack).isZero();
  }

  private MockEndpoint mock(String uriPart) {
    return camel.getEndpoints().stream()
        .filter(e -> e instanceof MockEndpoint && e.getEndpointUri().contains(uriPart))
        .map(MockEndpoint.class::cast)
        .findFirst()
        .orElseThrow();
  }
}
