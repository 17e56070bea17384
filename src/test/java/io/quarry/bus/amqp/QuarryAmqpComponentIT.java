package io.quarry.bus.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.Payloads;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.FailedToCreateRouteException;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.core.env.StandardEnvironment;

/**
 * The {@code quarry-amqp} endpoints in a Camel context against the machine's RabbitMQ: what a route
 * sends arrives where the URI (or the message itself) says, a list goes out as one confirmed batch,
 * and a message the broker cannot route fails the exchange.
 */
class QuarryAmqpComponentIT {

  static final String SUFFIX = IsolatedEnvironment.newName();
  static final StandardEnvironment ENV = new StandardEnvironment();
  static final Services SERVICES = Services.from(ENV);

  static Connection probe;
  Channel channel;
  CachingConnectionFactory connectionFactory;
  BatchPublisher publisher;
  CamelContext camel;
  ProducerTemplate producer;
  String queue;
  String other;
  String exchange;

  @BeforeAll
  static void connect() throws Exception {
    probe = SERVICES.amqp();
  }

  @AfterAll
  static void removeEverything() throws Exception {
    probe.close();
    SERVICES.deleteBusEntities(SUFFIX);
  }

  @BeforeEach
  void setUp() throws Exception {
    channel = probe.createChannel();
    queue = "amqp-component-" + SUFFIX;
    other = "amqp-component-other-" + SUFFIX;
    exchange = "amqp-component-x-" + SUFFIX;
    channel.queueDeclare(queue, true, false, false, Map.of());
    channel.queueDeclare(other, true, false, false, Map.of());
    channel.exchangeDeclare(exchange, "direct", true);
    channel.queueBind(other, exchange, "to-other");
    channel.queuePurge(queue);
    channel.queuePurge(other);
    connectionFactory = SERVICES.springAmqp();
    publisher = new BatchPublisher(connectionFactory, new SimpleMeterRegistry());
    camel = new DefaultCamelContext();
    camel.addComponent(QuarryAmqpComponent.SCHEME, new QuarryAmqpComponent(publisher));
    camel.start();
    producer = camel.createProducerTemplate();
  }

  @AfterEach
  void tearDown() throws Exception {
    camel.stop();
    publisher.destroy();
    connectionFactory.destroy();
    channel.close();
  }

  @Test
  void queueEndpointPublishesOneMessageToItsQueue() throws Exception {
    producer.sendBody("quarry-amqp:queue:" + queue, message("one"));

    assertThat(bodies(queue)).containsExactly("one");
  }

  @Test
  void listBodyGoesOutWholeInOrder() throws Exception {
    producer.sendBody(
        "quarry-amqp:queue:" + queue, List.of(message("a"), message("b"), message("c")));

    assertThat(bodies(queue)).containsExactly("a", "b", "c");
  }

  @Test
  void exchangeEndpointRoutesByItsKeyOrTheHeader() throws Exception {
    producer.sendBody("quarry-amqp:exchange:" + exchange + "?routingKey=to-other", message("key"));
    producer.sendBodyAndHeader(
        "quarry-amqp:exchange:" + exchange + "?routingKey=nowhere",
        message("header"),
        QuarryAmqpComponent.ROUTING_KEY,
        "to-other");

    assertThat(bodies(other)).containsExactly("key", "header");
  }

  @Test
  void routedElementsGoWhereTheyName() throws Exception {
    producer.sendBody(
        "quarry-amqp:queue:" + queue,
        List.of(message("here"), new Routed(exchange, "to-other", message("there"))));

    assertThat(bodies(queue)).containsExactly("here");
    assertThat(bodies(other)).containsExactly("there");
  }

  @Test
  void unroutableMessageFailsTheExchange() {
    assertThatThrownBy(
            () ->
                producer.sendBody(
                    "quarry-amqp:exchange:" + exchange + "?routingKey=bound-to-nothing",
                    message("lost")))
        .isInstanceOf(CamelExecutionException.class)
        .cause()
        .isInstanceOf(PublishFailedException.class)
        .hasMessageContaining("unroutable");
  }

  @Test
  void bodyThatIsNoMessageIsRefused() {
    assertThatThrownBy(() -> producer.sendBody("quarry-amqp:queue:" + queue, "plain text"))
        .isInstanceOf(CamelExecutionException.class)
        .hasCauseInstanceOf(org.apache.camel.InvalidPayloadException.class);
  }

  @Test
  void malformedUrisFailWhenTheRouteIsBuilt() {
    for (String uri :
        List.of("quarry-amqp:topic:x", "quarry-amqp:queue:", "quarry-amqp:queue:q?routingKey=k")) {
      assertThatThrownBy(
              () ->
                  camel.addRoutes(
                      new RouteBuilder() {
                        @Override
                        public void configure() {
                          from("direct:bad-" + Math.abs(uri.hashCode())).to(uri);
                        }
                      }))
          .as(uri)
          .isInstanceOf(FailedToCreateRouteException.class);
    }
  }

  private static Message message(String text) {
    return Payloads.json(text.getBytes(StandardCharsets.UTF_8), 1024);
  }

  private List<String> bodies(String name) throws Exception {
    List<String> bodies = new java.util.ArrayList<>();
    for (GetResponse got; (got = channel.basicGet(name, true)) != null; ) {
      bodies.add(new String(got.getBody(), StandardCharsets.UTF_8));
    }
    return bodies;
  }
}
