package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyBoolean;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.PublishFailedException;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.config.QuarryProperties;
import io.quarry.deadletter.DeadLetterComposer;
import io.quarry.deadletter.DeadLetterHeaders;
import io.quarry.message.InvalidMessageException;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningStateRepository;
import io.quarry.platform.TransientPlatformException;
import io.quarry.routes.deadletter.BusErrorHandling;
import io.quarry.routes.deadletter.DeadLetterChannelRoutes;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;

/**
 * The bus error handling with a consumer made from the consume-queue template and the dead-letter
 * route: what reaches the dead-letter exchange, under which routing key, and what the consumer's
 * caller (the listener, which acknowledges or rejects) sees.
 */
class BusErrorHandlingTest extends CamelTestSupport {

  private static final String DEAD_LETTERS = "mock:quarry-amqp:exchange:dead-letters-qa";

  private final QuarryProperties properties = RouteTestProperties.withStream("posts", false);
  private final BusNames names = new BusNames("qa");
  private final String queue = names.miningQueue("posts");
  private final BatchPublisher publisher = mock(BatchPublisher.class);
  private final MiningMessageCodec codec =
      new MiningMessageCodec(new ObjectMapper().findAndRegisterModules(), properties);
  private final MiningStateRepository chains = mock(MiningStateRepository.class);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final List<Exchange> worked = new ArrayList<>();

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder[] createRouteBuilders() {
    context.addComponent(QuarryAmqpComponent.SCHEME, new QuarryAmqpComponent(publisher));
    context
        .getRegistry()
        .bind("composer", new DeadLetterComposer(names, codec, chains, meters, properties));
    return new RoutesBuilder[] {
      new BusErrorHandling(properties),
      new DeadLetterChannelRoutes(names),
      new RouteBuilder() {
        @Override
        public void configure() {
          BusErrorHandling.consumeQueue(
              this, "direct:consume", queue, "posts-miner", "direct:work");
          from("direct:work")
              .routeId("posts-miner-pages")
              .routeConfigurationId(BusErrorHandling.ID)
              .process(
                  exchange -> {
                    worked.add(exchange.copy());
                    exchange.getMessage().setBody("changed on the way");
                    exchange.getMessage().setHeader(DeadLetterHeaders.ATTEMPTS, 99);
                    String failure = exchange.getMessage().getHeader("fail", String.class);
                    if ("permanent".equals(failure)) {
                      throw new InvalidMessageException("missing or invalid userId");
                    }
                    if ("transient".equals(failure)) {
                      throw new TransientPlatformException("GET /users/7/posts answered 503");
                    }
                  });
        }
      }
    };
  }

  private void start() throws Exception {
    AdviceWith.adviceWith(context, "dead-letter", a -> a.mockEndpointsAndSkip("quarry-amqp:*"));
    context.start();
  }

  private Exchange consume(String body, Map<String, Object> headers) {
    return template.send(
        "direct:consume",
        exchange -> {
          exchange.getMessage().setBody(body.getBytes(StandardCharsets.UTF_8));
          exchange.getMessage().setHeaders(new java.util.HashMap<>(headers));
        });
  }

  private static Message deadLetter(MockEndpoint mock) {
    return mock.getReceivedExchanges().get(0).getMessage().getBody(Message.class);
  }

  @Test
  void theTemplateMakesTheConsumerRouteUnderItsIdAndRemembersTheQueue() throws Exception {
    start();
    assertThat(context.getRoute("posts-miner").getEndpoint().getEndpointUri())
        .isEqualTo("direct://consume");
    assertThat(context.getRoute("posts-miner").getConfigurationId()).isNull();
    assertThat(context.getRoute("posts-miner-pages").getConfigurationId())
        .isEqualTo(BusErrorHandling.ID);

    Exchange done = consume("{}", Map.of());

    assertThat(done.getException()).isNull();
    assertThat(worked).singleElement();
    assertThat(worked.get(0).getProperty(DeadLetterHeaders.SOURCE_QUEUE_PROPERTY)).isEqualTo(queue);
    getMockEndpoint(DEAD_LETTERS).expectedMessageCount(0);
    MockEndpoint.assertIsSatisfied(context);
  }

  @Test
  void aPermanentFailureGoesAtOnceToTheQueuesDlqWithTheOriginalMessageAndTheReason()
      throws Exception {
    start();
    MockEndpoint dlx = getMockEndpoint(DEAD_LETTERS);
    dlx.expectedMessageCount(1);
    dlx.expectedHeaderReceived(QuarryAmqpComponent.ROUTING_KEY, "posts-mining-queue.dlq-qa");

    Exchange done =
        consume(
            "{\"bad\":1}",
            Map.of(
                "fail",
                "permanent",
                "CamelSpringRabbitmqContentEncoding",
                "identity",
                // an inbound Camel header must not steer the dead letter elsewhere
                QuarryAmqpComponent.ROUTING_KEY,
                "somewhere-else"));

    dlx.assertIsSatisfied();
    assertThat(done.getException()).as("handled: the listener acknowledges").isNull();
    assertThat(worked).hasSize(1); // no redelivery
    Message letter = deadLetter(dlx);
    assertThat(new String(letter.getBody(), StandardCharsets.UTF_8)).isEqualTo("{\"bad\":1}");
    assertThat(letter.getMessageProperties().getContentEncoding()).isEqualTo("identity");
    assertThat(letter.getMessageProperties().getContentType()).isEqualTo("application/json");
    assertThat(letter.getMessageProperties().getDeliveryMode())
        .isEqualTo(MessageDeliveryMode.PERSISTENT);
    assertThat(letter.getMessageProperties().getHeaders())
        .containsEntry(DeadLetterHeaders.SOURCE_QUEUE, queue)
        .containsEntry(DeadLetterHeaders.REASON, "missing or invalid userId")
        .containsEntry(DeadLetterHeaders.EXCEPTION, InvalidMessageException.class.getName())
        .containsEntry(DeadLetterHeaders.ROUTE, "posts-miner-pages")
        .containsEntry(DeadLetterHeaders.ATTEMPTS, 1)
        .containsEntry(DeadLetterHeaders.RETRIES, 0)
        .containsEntry(DeadLetterHeaders.TRANSIENT, false)
        .containsKey(DeadLetterHeaders.FAILED_AT);
    assertThat(
            meters
                .counter("quarry.dead.letters", "queue", "posts-mining-queue", "kind", "permanent")
                .count())
        .isEqualTo(1);
    verifyNoInteractions(publisher); // the mock stood in for the broker
  }

  @Test
  void aTransientFailureIsRedeliveredThenDeadLetteredWithEveryAttemptCounted() throws Exception {
    start();
    MockEndpoint dlx = getMockEndpoint(DEAD_LETTERS);
    dlx.expectedMessageCount(1);

    Exchange done =
        consume(
            "{}",
            Map.of(
                "fail",
                "transient",
                DeadLetterHeaders.ATTEMPTS,
                "4",
                DeadLetterHeaders.RETRIES,
                "1"));

    dlx.assertIsSatisfied();
    assertThat(done.getException()).isNull();
    assertThat(worked).hasSize(2); // the first try and one redelivery
    assertThat(deadLetter(dlx).getMessageProperties().getHeaders())
        .containsEntry(DeadLetterHeaders.TRANSIENT, true)
        .containsEntry(DeadLetterHeaders.ATTEMPTS, 4 + 2) // earlier rounds and this one's
        .containsEntry(DeadLetterHeaders.RETRIES, 1)
        .containsEntry(DeadLetterHeaders.REASON, "GET /users/7/posts answered 503");
    assertThat(
            meters
                .counter("quarry.dead.letters", "queue", "posts-mining-queue", "kind", "transient")
                .count())
        .isEqualTo(1);
  }

  @Test
  void aMiningMessagesChainIsMarkedFailedOnceItsDeadLetterIsOut() throws Exception {
    start();
    MiningMessage mining = MiningMessage.first("posts", 7, UUID.randomUUID(), 100, 5);
    String body = new String(codec.write(mining).getBody(), StandardCharsets.UTF_8);

    consume(body, Map.of("fail", "permanent"));

    verify(chains).fail(7, "posts", mining.runId(), "missing or invalid userId", true);
  }

  @Test
  void aDeadLetterTheBrokerDidNotConfirmFailsTheConsumerSoTheMessageIsNotAcknowledged()
      throws Exception {
    start();
    MockEndpoint dlx = getMockEndpoint(DEAD_LETTERS);
    dlx.whenAnyExchangeReceived(
        exchange -> {
          throw new PublishFailedException("nacked by the broker");
        });
    MiningMessage mining = MiningMessage.first("posts", 7, UUID.randomUUID(), 100, 5);
    String body = new String(codec.write(mining).getBody(), StandardCharsets.UTF_8);

    Exchange done = consume(body, Map.of("fail", "permanent"));

    assertThat(done.getException()).isInstanceOf(PublishFailedException.class);
    assertThat(worked).hasSize(1); // the consumer route does not dead-letter it a second time
    assertThat(meters.find("quarry.dead.letters").counters()).isEmpty();
    verify(chains, never()).fail(anyLong(), anyString(), any(), anyString(), anyBoolean());
  }
}
