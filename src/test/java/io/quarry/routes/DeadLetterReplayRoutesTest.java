package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyBoolean;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.PublishFailedException;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.config.QuarryProperties;
import io.quarry.deadletter.DeadLetterReplay;
import io.quarry.deadletter.DeadLetterRepository;
import io.quarry.deadletter.DeadLetterService;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningStateRepository;
import io.quarry.routes.deadletter.DeadLetterReplayRoutes;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.springframework.amqp.core.Message;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.AbstractPlatformTransactionManager;
import org.springframework.transaction.support.DefaultTransactionStatus;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * The replay route, as the API reaches it (DeadLetterService through its direct: endpoint): the
 * letter's message goes to its queue in the transaction that marks it replayed, and a publish that
 * is not confirmed rolls the mark back and reaches the caller.
 */
class DeadLetterReplayRoutesTest extends CamelTestSupport {

  private final QuarryProperties properties = RouteTestProperties.withStream("posts", false);
  private final BusNames names = new BusNames("qa");
  private final String subscriberQueue = names.subscriberQueue("posts", "raw-storage");
  private final String miningQueue = names.miningQueue("posts");
  private final DeadLetterRepository parked = mock(DeadLetterRepository.class);
  private final MiningStateRepository chains = mock(MiningStateRepository.class);
  private final MiningMessageCodec codec =
      new MiningMessageCodec(new ObjectMapper().findAndRegisterModules(), properties);
  private final RecordingTransactions transactions = new RecordingTransactions();
  private DeadLetterService service;

  /** Counts commits and rollbacks; what ran inside a transaction can ask Spring. */
  static final class RecordingTransactions extends AbstractPlatformTransactionManager {
    final List<String> outcomes = new ArrayList<>();

    @Override
    protected Object doGetTransaction() {
      return new Object();
    }

    @Override
    protected void doBegin(Object transaction, TransactionDefinition definition) {}

    @Override
    protected void doCommit(DefaultTransactionStatus status) {
      outcomes.add("commit");
    }

    @Override
    protected void doRollback(DefaultTransactionStatus status) {
      outcomes.add("rollback");
    }
  }

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder createRouteBuilder() {
    context.addComponent(
        QuarryAmqpComponent.SCHEME, new QuarryAmqpComponent(mock(BatchPublisher.class)));
    context.getRegistry().bind("transactionManager", transactions);
    context.getRegistry().bind("replay", new DeadLetterReplay(parked, names, codec, chains));
    return new DeadLetterReplayRoutes();
  }

  private void start() throws Exception {
    AdviceWith.adviceWith(
        context, "dead-letter-replay-send", a -> a.mockEndpointsAndSkip("quarry-amqp:*"));
    context.start();
    service = new DeadLetterService(parked, template);
  }

  private DeadLetterRepository.Parked letter(long id, String queue, byte[] body, Instant replayed) {
    DeadLetterRepository.Parked letter =
        new DeadLetterRepository.Parked(
            id,
            queue,
            queue,
            "application/json",
            null,
            body,
            "{}",
            "boom",
            null,
            null,
            1,
            true,
            Instant.now(),
            replayed,
            null);
    when(parked.find(id)).thenReturn(Optional.of(letter));
    return letter;
  }

  private MockEndpoint queueMock(String queue) {
    return getMockEndpoint("mock:quarry-amqp:queue:" + queue);
  }

  @Test
  void aLetterGoesBackToItsQueueInTheTransactionThatMarksItReplayed() throws Exception {
    start();
    letter(3, subscriberQueue, "{\"id\":1}".getBytes(StandardCharsets.UTF_8), null);
    AtomicBoolean markedInTransaction = new AtomicBoolean();
    when(parked.markReplayed(3, "admin"))
        .thenAnswer(
            invocation -> {
              markedInTransaction.set(
                  TransactionSynchronizationManager.isActualTransactionActive());
              return true;
            });
    MockEndpoint queue = queueMock(subscriberQueue);
    queue.expectedMessageCount(1);
    AtomicBoolean publishedInTransaction = new AtomicBoolean();
    queue.whenAnyExchangeReceived(
        exchange ->
            publishedInTransaction.set(
                TransactionSynchronizationManager.isActualTransactionActive()));

    DeadLetterService.Replay replay = service.replay(3, "admin");

    queue.assertIsSatisfied();
    assertThat(replay)
        .isEqualTo(new DeadLetterService.Replay(true, "sent back to " + subscriberQueue));
    Message sent = queue.getReceivedExchanges().get(0).getMessage().getBody(Message.class);
    assertThat(new String(sent.getBody(), StandardCharsets.UTF_8)).isEqualTo("{\"id\":1}");
    assertThat(sent.getMessageProperties().getContentType()).isEqualTo("application/json");
    assertThat(markedInTransaction).isTrue();
    assertThat(publishedInTransaction).isTrue();
    assertThat(transactions.outcomes).containsExactly("commit");
  }

  @Test
  void aLetterHandledMeanwhileIsNotSent() throws Exception {
    start();
    letter(3, subscriberQueue, new byte[] {1}, null);
    when(parked.markReplayed(3, "admin")).thenReturn(false);
    queueMock(subscriberQueue).expectedMessageCount(0);

    assertThat(service.replay(3, "admin")).isEqualTo(new DeadLetterService.Replay(false, null));

    MockEndpoint.assertIsSatisfied(context);
  }

  @Test
  void aPublishThatIsNotConfirmedRollsTheMarkBackAndReachesTheCaller() throws Exception {
    start();
    letter(3, subscriberQueue, new byte[] {1}, null);
    when(parked.markReplayed(3, "admin")).thenReturn(true);
    queueMock(subscriberQueue)
        .whenAnyExchangeReceived(
            exchange -> {
              throw new PublishFailedException("unroutable");
            });

    assertThatThrownBy(() -> service.replay(3, "admin")).isInstanceOf(PublishFailedException.class);
    assertThat(transactions.outcomes).containsExactly("rollback");
  }

  @Test
  void anUnknownLetterIsReportedAsSuchAndNothingIsSent() throws Exception {
    start();
    when(parked.find(9)).thenReturn(Optional.empty());

    assertThatThrownBy(() -> service.replay(9, "admin"))
        .isInstanceOf(DeadLetterService.UnknownDeadLetterException.class);
    verify(parked, never()).markReplayed(anyLong(), anyString());
    assertThat(transactions.outcomes).isEmpty();
  }

  @Test
  void aMiningLetterResumesItsChainUnderANewRunAtItsMarker() throws Exception {
    start();
    MiningMessage failed =
        new MiningMessage(
            MiningMessage.VERSION, "posts", 7, UUID.randomUUID(), 100, "m-4", 3, 5, 0, 0);
    letter(4, miningQueue, codec.write(failed).getBody(), null);
    when(chains.reopenAt(eq(failed), any())).thenReturn(true);
    when(parked.markReplayed(4, "admin")).thenReturn(true);
    MockEndpoint queue = queueMock(miningQueue);
    queue.expectedMessageCount(1);

    DeadLetterService.Replay replay = service.replay(4, "admin");

    queue.assertIsSatisfied();
    ArgumentCaptor<UUID> run = ArgumentCaptor.forClass(UUID.class);
    verify(chains).reopenAt(eq(failed), run.capture());
    Message sent = queue.getReceivedExchanges().get(0).getMessage().getBody(Message.class);
    MiningMessage resumed =
        codec.read(sent.getBody(), sent.getMessageProperties().getContentEncoding());
    assertThat(resumed.runId()).isEqualTo(run.getValue()).isNotEqualTo(failed.runId());
    assertThat(resumed.currentMarker()).isEqualTo("m-4");
    assertThat(resumed.userId()).isEqualTo(7);
    assertThat(sent.getMessageProperties().<String>getHeader("x-quarry-replayed-by"))
        .isEqualTo("admin");
    assertThat(replay.replayed()).isTrue();
    assertThat(replay.detail()).contains("resumes at marker m-4 as run " + run.getValue());
  }

  @Test
  void aMiningLetterWhoseChainIsBeingMinedIsRefusedAndNothingIsSent() throws Exception {
    start();
    MiningMessage failed = MiningMessage.first("posts", 7, UUID.randomUUID(), 100, 5);
    letter(4, miningQueue, codec.write(failed).getBody(), null);
    when(chains.reopenAt(eq(failed), any())).thenReturn(false);
    queueMock(miningQueue).expectedMessageCount(0);

    assertThatThrownBy(() -> service.replay(4, "admin"))
        .isInstanceOf(DeadLetterService.ReplayRefusedException.class)
        .hasMessageContaining("is being mined by another run");
    verify(parked, never()).markReplayed(anyLong(), anyString());
    MockEndpoint.assertIsSatisfied(context);
  }

  @Test
  void aMiningLetterWhoseMessageDidNotGoOutFailsItsReopenedChainAgain() throws Exception {
    start();
    MiningMessage failed = MiningMessage.first("posts", 7, UUID.randomUUID(), 100, 5);
    letter(4, miningQueue, codec.write(failed).getBody(), null);
    when(chains.reopenAt(eq(failed), any())).thenReturn(true);
    when(parked.markReplayed(4, "admin")).thenReturn(true);
    queueMock(miningQueue)
        .whenAnyExchangeReceived(
            exchange -> {
              throw new PublishFailedException("nacked by the broker");
            });

    assertThatThrownBy(() -> service.replay(4, "admin")).isInstanceOf(PublishFailedException.class);
    ArgumentCaptor<UUID> run = ArgumentCaptor.forClass(UUID.class);
    verify(chains).reopenAt(eq(failed), run.capture());
    verify(chains)
        .fail(
            eq(7L),
            eq("posts"),
            eq(run.getValue()),
            eq(
                "replay of dead letter 4 not published: publish not confirmed: nacked by the broker"),
            eq(false));
    assertThat(transactions.outcomes).containsExactly("rollback");
  }

  @Test
  void aMiningLetterHandledAlreadyIsNotReopened() throws Exception {
    start();
    MiningMessage failed = MiningMessage.first("posts", 7, UUID.randomUUID(), 100, 5);
    letter(4, miningQueue, codec.write(failed).getBody(), Instant.now());

    assertThat(service.replay(4, "admin")).isEqualTo(new DeadLetterService.Replay(false, null));
    verify(chains, never()).reopenAt(any(), any());
    verify(chains, never()).fail(anyLong(), anyString(), any(), anyString(), anyBoolean());
  }
}
