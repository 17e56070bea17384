package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyList;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.PublishFailedException;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.config.QuarryProperties;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningScheduler;
import io.quarry.mining.MiningStateRepository;
import io.quarry.mining.MiningStateRepository.Claim;
import io.quarry.monitoring.PipelineMetrics;
import io.quarry.routes.scheduling.StreamSchedulerRoutes;
import io.quarry.support.TestProperties;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.springframework.amqp.core.Message;

/**
 * A stream's scheduler route with the real {@link MiningScheduler} on a mocked repository, the
 * active-users query and the broker mocked: claim after a successful read, publish the claims in
 * groups of {@code publish-batch-size}, close the run with its figures; on a failure release the
 * users whose group was not confirmed and fail the run.
 */
class StreamSchedulerRoutesTest extends CamelTestSupport {

  private static final String SQL = "mock:sql:classpath:sql/active-users.sql";
  private static final String MINING_QUEUE =
      "mock:quarry-amqp:queue:" + new BusNames("qa").miningQueue("posts");

  private final QuarryProperties properties = TestProperties.posts(5, false, 65536);
  private final MiningStateRepository states = mock(MiningStateRepository.class);
  private final PipelineMetrics metrics = mock(PipelineMetrics.class);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final MiningMessageCodec codec =
      new MiningMessageCodec(new ObjectMapper().findAndRegisterModules(), properties);

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder createRouteBuilder() {
    context
        .getRegistry()
        .bind("miningScheduler", new MiningScheduler(states, codec, properties, meters));
    context.getRegistry().bind("pipelineMetrics", metrics);
    context
        .getRegistry()
        .bind(QuarryAmqpComponent.SCHEME, new QuarryAmqpComponent(mock(BatchPublisher.class)));
    // never used: the sql endpoint is mocked and skipped, but it must resolve
    context.getRegistry().bind("dataSource", mock(javax.sql.DataSource.class));
    return new StreamSchedulerRoutes(properties, new BusNames("qa"));
  }

  private void start() throws Exception {
    AdviceWith.adviceWith(context, "posts-scheduler-tick", a -> a.replaceFromWith("direct:tick"));
    AdviceWith.adviceWith(
        context, "posts-scheduler", a -> a.mockEndpointsAndSkip("sql:*", "quarry-amqp:*"));
    context.start();
  }

  private void activeUsers(long... ids) {
    List<Map<String, Object>> rows =
        LongStream.of(ids).mapToObj(id -> Map.<String, Object>of("id", id)).toList();
    getMockEndpoint(SQL).whenAnyExchangeReceived(e -> e.getMessage().setBody(rows));
  }

  private void claims(List<Claim> claimed) {
    when(states.claim(eq("posts"), any(), anyList(), any())).thenReturn(claimed);
    when(states.alive(any())).thenReturn(true);
    when(states.published(any(), anyInt(), anyLong())).thenReturn(true);
  }

  /** The mining messages of each published group, in order. */
  private List<List<MiningMessage>> groups() {
    List<List<MiningMessage>> groups = new java.util.ArrayList<>();
    for (Exchange sent : getMockEndpoint(MINING_QUEUE).getReceivedExchanges()) {
      List<?> group = sent.getMessage().getBody(List.class);
      groups.add(group.stream().map(m -> codec.read(((Message) m).getBody(), null)).toList());
    }
    return groups;
  }

  @Test
  void aTickClaimsTheActiveUsersAndPublishesThemInGroups() throws Exception {
    start();
    activeUsers(1, 2, 3, 4);
    claims(
        List.of(new Claim(1, null, false), new Claim(2, "m-6", true), new Claim(4, null, false)));
    getMockEndpoint(MINING_QUEUE).expectedMessageCount(1);

    Object figures = template.requestBody("direct:tick", (Object) null);

    getMockEndpoint(MINING_QUEUE).assertIsSatisfied();
    assertThat(groups()).hasSize(1);
    List<MiningMessage> messages = groups().stream().flatMap(List::stream).toList();
    assertThat(messages)
        .extracting(MiningMessage::userId, MiningMessage::currentMarker, MiningMessage::pagesMined)
        .containsExactly(tuple(1L, null, 0L), tuple(2L, "m-6", 0L), tuple(4L, null, 0L));
    assertThat(messages).extracting(MiningMessage::runId).containsOnly(messages.get(0).runId());
    // the claim comes after the read, with the ids read, and is committed before any publish
    ArgumentCaptor<List<Long>> read = listCaptor();
    verify(states).claim(eq("posts"), eq(messages.get(0).runId()), read.capture(), any());
    assertThat(read.getValue()).containsExactly(1L, 2L, 3L, 4L);
    verify(states).finishRun(messages.get(0).runId(), 4, 3, 1, 1);
    assertThat(figures)
        .asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
        .containsEntry("read", 4)
        .containsEntry("scheduled", 3)
        .containsEntry("resumed", 1)
        .containsEntry("skipped", 1);
    assertThat(meters.counter("quarry.scheduler.users.resumed", "stream", "posts").count())
        .isEqualTo(1);
    verify(states, never()).releaseUnsent(any(), any(), anyList(), any());
    verify(metrics).tick("posts", "succeeded");
  }

  @Test
  void aFailedReadClaimsAndSendsNothingAndFailsTheRun() throws Exception {
    start();
    getMockEndpoint(SQL)
        .whenAnyExchangeReceived(
            exchange -> {
              throw new SQLException("relation \"app_user\" does not exist");
            });
    getMockEndpoint(MINING_QUEUE).expectedMessageCount(0);

    template.sendBody("direct:tick", null);

    getMockEndpoint(MINING_QUEUE).assertIsSatisfied();
    verify(states, never()).claim(any(), any(), anyList(), any());
    ArgumentCaptor<String> reason = ArgumentCaptor.forClass(String.class);
    verify(states).failRun(any(), reason.capture());
    assertThat(reason.getValue()).contains("app_user");
    verify(states, never()).releaseUnsent(any(), any(), anyList(), any());
    verify(metrics).tick("posts", "failed");
    verify(metrics, never()).tick("posts", "succeeded");
  }

  @Test
  void aGroupTheBrokerDidNotConfirmReleasesItsUsersAndTheRestAndFailsTheRun() throws Exception {
    start();
    int batch = properties.mining().publishBatchSize();
    long[] ids = LongStream.rangeClosed(1, batch * 3L).toArray();
    activeUsers(ids);
    claims(LongStream.of(ids).mapToObj(id -> new Claim(id, null, false)).toList());
    MockEndpoint broker = getMockEndpoint(MINING_QUEUE);
    broker.whenExchangeReceived(
        2,
        exchange -> {
          throw new PublishFailedException("nacked by the broker");
        });

    template.sendBody("direct:tick", null);

    assertThat(broker.getReceivedCounter()).isEqualTo(2); // the third group is never sent
    ArgumentCaptor<List<Long>> released = listCaptor();
    verify(states).releaseUnsent(eq("posts"), any(), released.capture(), anyString());
    assertThat(released.getValue())
        .containsExactlyElementsOf(LongStream.rangeClosed(batch + 1, batch * 3L).boxed().toList());
    verify(states).failRun(any(), org.mockito.ArgumentMatchers.contains("nacked"));
    verify(states, never()).finishRun(any(), anyInt(), anyInt(), anyInt(), anyInt());
    verify(metrics).tick("posts", "failed");
  }

  @Test
  void aRunClosedAsAbandonedDuringItsClaimReleasesWhatItClaimedAndSendsNothing() throws Exception {
    start();
    activeUsers(1);
    when(states.claim(eq("posts"), any(), anyList(), any()))
        .thenReturn(List.of(new Claim(1, null, false)));
    when(states.alive(any())).thenReturn(false);

    template.sendBody("direct:tick", null);

    assertThat(getMockEndpoint(MINING_QUEUE).getReceivedCounter()).isZero();
    verify(states).releaseUnsent(eq("posts"), any(), eq(List.of(1L)), anyString());
    verify(states).failRun(any(), org.mockito.ArgumentMatchers.contains("closed as abandoned"));
    verify(states, never()).finishRun(any(), anyInt(), anyInt(), anyInt(), anyInt());
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static <T> ArgumentCaptor<List<T>> listCaptor() {
    return (ArgumentCaptor) ArgumentCaptor.forClass(List.class);
  }
}
