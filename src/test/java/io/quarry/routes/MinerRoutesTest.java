package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.config.QuarryProperties;
import io.quarry.deadletter.DeadLetterHeaders;
import io.quarry.deadletter.DeadLetterPublisher;
import io.quarry.message.InvalidMessageException;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.Miner;
import io.quarry.platform.TransientPlatformException;
import io.quarry.platform.UnexpectedStatusException;
import io.quarry.routes.deadletter.BusErrorHandling;
import io.quarry.routes.mining.MinerRoutes;
import io.quarry.security.TokenCipher;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;

/** The miner route with its beans mocked: the page loop and the dead-letter decisions. */
class MinerRoutesTest extends CamelTestSupport {

  private final QuarryProperties properties = RouteTestProperties.withStream("posts", false);
  private final MiningMessageCodec codec = mock(MiningMessageCodec.class);
  private final Miner miner = mock(Miner.class);
  private final DeadLetterPublisher deadLetters = mock(DeadLetterPublisher.class);
  private final List<Exchange> deadLettered = new ArrayList<>();
  private final MiningMessage message = MiningMessage.first("posts", 7, UUID.randomUUID(), 100, 5);

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder[] createRouteBuilders() {
    context.getRegistry().bind("codec", codec);
    context.getRegistry().bind("miner", miner);
    context.getRegistry().bind("deadLetters", deadLetters);
    doAnswer(
            invocation -> {
              Exchange exchange = invocation.getArgument(0);
              deadLettered.add(exchange.copy());
              return null;
            })
        .when(deadLetters)
        .deadLetter(any());
    BusNames names = new BusNames("qa");
    return new RoutesBuilder[] {
      new BusErrorHandling(properties), new MinerRoutes(properties, names, new Endpoints(names))
    };
  }

  private void start() throws Exception {
    AdviceWith.adviceWith(context, "posts-miner", a -> a.replaceFromWith("direct:consume"));
    context.start();
  }

  @Test
  void loopsOverPagesWhileTheMinerWantsMoreThenEnds() throws Exception {
    start();
    when(codec.read(any(), any())).thenReturn(message);
    when(miner.wantsAnotherPage(any())).thenReturn(true, true, false);

    template.sendBody("direct:consume", "{}".getBytes(StandardCharsets.UTF_8));

    verify(miner).begin(eq(message), any());
    verify(miner, times(2)).fetchPage(any());
    verify(miner).end(any());
    verify(deadLetters, never()).deadLetter(any());
  }

  @Test
  void aMalformedMessageIsDeadLetteredAtOnceWithTheOriginalBody() throws Exception {
    start();
    when(codec.read(any(), any()))
        .thenThrow(new InvalidMessageException("missing or invalid userId"));

    template.sendBodyAndHeader(
        "direct:consume",
        "{\"bad\":1}".getBytes(StandardCharsets.UTF_8),
        "CamelSpringRabbitmqContentEncoding",
        "identity");

    assertThat(deadLettered).hasSize(1);
    Exchange dead = deadLettered.get(0);
    assertThat(dead.getMessage().getBody(String.class)).isEqualTo("{\"bad\":1}");
    assertThat(dead.getMessage().getHeader("CamelSpringRabbitmqContentEncoding"))
        .isEqualTo("identity");
    assertThat(dead.getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY)).isEqualTo(false);
    assertThat(dead.getProperty(DeadLetterHeaders.SOURCE_QUEUE_PROPERTY))
        .isEqualTo("posts-mining-queue-qa");
    assertThat(dead.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class))
        .hasMessage("missing or invalid userId");
    verify(miner, never()).fetchPage(any());
  }

  @Test
  void aTransientFailureIsRedeliveredThenDeadLetteredAsTransient() throws Exception {
    start();
    when(codec.read(any(), any())).thenReturn(message);
    when(miner.wantsAnotherPage(any())).thenReturn(true);
    doAnswer(
            invocation -> {
              throw new TransientPlatformException("GET /users/7/posts answered 503");
            })
        .when(miner)
        .fetchPage(any());

    template.sendBody("direct:consume", "{}".getBytes(StandardCharsets.UTF_8));

    verify(miner, times(2)).fetchPage(any()); // the first try and one redelivery
    assertThat(deadLettered).hasSize(1);
    assertThat(deadLettered.get(0).getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY))
        .isEqualTo(true);
    verify(miner, never()).end(any());
  }

  @Test
  void anUnexpectedApiStatusIsDeadLetteredAtOnceAsPermanent() throws Exception {
    start();
    when(codec.read(any(), any())).thenReturn(message);
    when(miner.wantsAnotherPage(any())).thenReturn(true);
    doAnswer(
            invocation -> {
              throw new UnexpectedStatusException("GET /users/7/posts", 404);
            })
        .when(miner)
        .fetchPage(any());

    template.sendBody("direct:consume", "{}".getBytes(StandardCharsets.UTF_8));

    verify(miner, times(1)).fetchPage(any()); // no redelivery: another try gets another 404
    assertThat(deadLettered).hasSize(1);
    assertThat(deadLettered.get(0).getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY))
        .isEqualTo(false);
  }

  @Test
  void aTokenThatNoKeyDecryptsIsNeverRedelivered() throws Exception {
    start();
    when(codec.read(any(), any())).thenReturn(message);
    doAnswer(
            invocation -> {
              throw new TokenCipher.TokenDecryptionException("no configured key decrypts it");
            })
        .when(miner)
        .begin(any(), any());

    template.sendBody("direct:consume", "{}".getBytes(StandardCharsets.UTF_8));

    verify(miner, times(1)).begin(any(), any());
    assertThat(deadLettered).hasSize(1);
    assertThat(deadLettered.get(0).getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY))
        .isEqualTo(false);
  }
}
