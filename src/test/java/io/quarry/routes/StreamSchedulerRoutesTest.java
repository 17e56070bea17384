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
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningScheduler;
import io.quarry.mining.MiningStateRepository;
import io.quarry.mining.MiningStateRepository.Claim;
import io.quarry.mining.MiningStateRepository.FailedRun;
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
 * active-users query (a page after {@code quarryUsersAfter}) and the broker mocked: page after
 * page, claim the page read, publish its claims in groups of {@code publish-batch-size} while the
 * next page is read and claimed, close the run with its figures; on a failure release the users
 * whose group was not confirmed (and the page claimed ahead) and fail the run with what it
 * published and released.
 */
class StreamSchedulerRoutesTest extends CamelTestSupport {

  private static final String SQL = "mock:sql:classpath:sql/active-users.sql?parametersCount=2";
  private static final int BATCH = 2;
  private static final int PAGE = BATCH * MiningScheduler.GROUPS_PER_PAGE;
  private static final String MINING_QUEUE =
      "mock:quarry-amqp:queue:" + new BusNames("qa").miningQueue("posts");

  private final QuarryProperties properties = withPublishBatchSize(BATCH);
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

  private static QuarryProperties withPublishBatchSize(int batch) {
    QuarryProperties base = TestProperties.posts(5, false, 65536);
    MiningProperties m = base.mining();
    return TestProperties.of(
        base.platform(),
        base.streams(),
        new MiningProperties(
            m.consumers(),
            m.prefetch(),
            m.subscriberConsumers(),
            m.consecutiveBatchRepeatsLimit(),
            m.maxPagesPerRun(),
            batch,
            m.compressionThreshold(),
            m.staleChainAfter(),
            m.abandonedTickAfter(),
            m.redeliveries(),
            m.redeliveryDelay(),
            m.deadLetterRetries()));
  }

  /** What the route did, in order: reads (after which id), claims (how many), publishes. */
  private final List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** The active-users query answers like the real one: a page of the ids after the header's. */
  private void activeUsers(long... ids) {
    getMockEndpoint(SQL)
        .whenAnyExchangeReceived(
            e -> {
              long after = e.getMessage().getHeader(MiningScheduler.USERS_AFTER, Long.class);
              int limit = e.getMessage().getHeader(MiningScheduler.USERS_PER_PAGE, Integer.class);
              events.add("read after " + (after == Long.MIN_VALUE ? "start" : after));
              e.getMessage()
                  .setBody(
                      LongStream.of(ids)
                          .filter(id -> id > after)
                          .limit(limit)
                          .mapToObj(id -> Map.<String, Object>of("id", id))
                          .toList());
            });
    getMockEndpoint(MINING_QUEUE)
        .whenAnyExchangeReceived(
            e -> events.add("publish " + e.getMessage().getBody(List.class).size()));
  }

  /** The claim takes every user it is given. */
  private void claimEveryone() {
    claims(ids -> ids.stream().map(id -> new Claim(id, null, false)).toList());
  }

  private void claims(List<Claim> claimed) {
    claims(ids -> claimed.stream().filter(c -> ids.contains(c.userId())).toList());
  }

  @SuppressWarnings("unchecked")
  private void claims(java.util.function.Function<List<Long>, List<Claim>> claim) {
    when(states.claim(eq("posts"), any(), anyList(), any()))
        .thenAnswer(
            call -> {
              List<Claim> claimed = claim.apply((List<Long>) call.getArgument(2));
              events.add("claim " + claimed.size());
              return claimed;
            });
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
    getMockEndpoint(MINING_QUEUE).expectedMessageCount(2);

    Object figures = template.requestBody("direct:tick", (Object) null);

    getMockEndpoint(MINING_QUEUE).assertIsSatisfied();
    assertThat(groups()).hasSize(2);
    assertThat(events).containsExactly("read after start", "claim 3", "publish 2", "publish 1");
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
    verify(states).failRun(any(), reason.capture(), eq(new FailedRun(0, 0, 0, 0, 0)));
    assertThat(reason.getValue()).contains("app_user");
    verify(states, never()).releaseUnsent(any(), any(), anyList(), any());
    verify(metrics).tick("posts", "failed");
    verify(metrics, never()).tick("posts", "succeeded");
  }

  @Test
  void aGroupTheBrokerDidNotConfirmReleasesItsUsersAndTheRestAndFailsTheRun() throws Exception {
    start();
    int batch = BATCH;
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
    verify(states)
        .failRun(
            any(),
            org.mockito.ArgumentMatchers.contains("nacked"),
            eq(new FailedRun(batch * 3, batch, batch * 2, 0, 0)));
    verify(states, never()).finishRun(any(), anyInt(), anyInt(), anyInt(), anyInt());
    verify(metrics).tick("posts", "failed");
  }

  @Test
  void aRunClosedAsAbandonedDuringItsClaimReleasesWhatItClaimedAndSendsNothing() throws Exception {
    start();
    activeUsers(1);
    claims(List.of(new Claim(1, null, false)));
    when(states.alive(any())).thenReturn(false);

    template.sendBody("direct:tick", null);

    assertThat(getMockEndpoint(MINING_QUEUE).getReceivedCounter()).isZero();
    verify(states).releaseUnsent(eq("posts"), any(), eq(List.of(1L)), anyString());
    verify(states)
        .failRun(
            any(),
            org.mockito.ArgumentMatchers.contains("closed as abandoned"),
            eq(new FailedRun(1, 0, 1, 0, 0)));
    verify(states, never()).finishRun(any(), anyInt(), anyInt(), anyInt(), anyInt());
  }

  @Test
  void aTickClaimsTheNextPageWhileItPublishesTheOneBefore() throws Exception {
    start();
    int users = PAGE * 2 + PAGE / 2;
    long[] ids = LongStream.rangeClosed(1, users).map(i -> i * 10).toArray();
    activeUsers(ids);
    claimEveryone();
    // The first group of each page waits until the next page is claimed: a route that claimed
    // only after publishing would never get there.
    java.util.concurrent.CountDownLatch secondClaim = new java.util.concurrent.CountDownLatch(1);
    when(states.claim(eq("posts"), any(), anyList(), any()))
        .thenAnswer(
            call -> {
              List<Long> read = call.getArgument(2);
              events.add("claim " + read.size());
              if (read.get(0) == ids[PAGE]) {
                secondClaim.countDown();
              }
              return read.stream().map(id -> new Claim(id, null, false)).toList();
            });
    getMockEndpoint(MINING_QUEUE)
        .whenExchangeReceived(
            1,
            e -> {
              events.add("publish " + e.getMessage().getBody(List.class).size());
              assertThat(secondClaim.await(10, java.util.concurrent.TimeUnit.SECONDS))
                  .as("the second page claimed while the first is published")
                  .isTrue();
            });

    Object figures = template.requestBody("direct:tick", (Object) null);

    // Page k+2 is read only once page k is all published: the tick holds two pages at most.
    List<String> reads = events.stream().filter(e -> e.startsWith("read")).toList();
    assertThat(reads)
        .containsExactly(
            "read after start", "read after " + ids[PAGE - 1], "read after " + ids[2 * PAGE - 1]);
    int thirdRead = events.indexOf(reads.get(2));
    assertThat(events.subList(0, thirdRead).stream().filter(e -> e.startsWith("publish")))
        .as("publishes before the third page is read")
        .hasSizeGreaterThanOrEqualTo(PAGE / BATCH);
    assertThat(events.indexOf("claim " + PAGE))
        .as("the first page claimed before anything is published")
        .isLessThan(events.indexOf("publish " + BATCH));
    ArgumentCaptor<List<Long>> claimed = listCaptor();
    verify(states, org.mockito.Mockito.times(3))
        .claim(eq("posts"), any(), claimed.capture(), any());
    assertThat(claimed.getAllValues()).extracting(List::size).containsExactly(PAGE, PAGE, PAGE / 2);
    // ... and the mining messages still go out in user order, each user once.
    assertThat(groups().stream().flatMap(List::stream).map(MiningMessage::userId))
        .containsExactlyElementsOf(LongStream.of(ids).boxed().toList());
    verify(states).finishRun(any(), eq(users), eq(users), eq(0), eq(0));
    assertThat(figures)
        .asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
        .containsEntry("read", users)
        .containsEntry("scheduled", users);
  }

  @Test
  void aFullLastPageIsFollowedByAnEmptyRead() throws Exception {
    start();
    activeUsers(LongStream.rangeClosed(1, PAGE).toArray());
    claimEveryone();

    template.sendBody("direct:tick", null);

    assertThat(events.stream().filter(e -> e.startsWith("read")))
        .containsExactly("read after start", "read after " + PAGE);
    verify(states).finishRun(any(), eq(PAGE), eq(PAGE), eq(0), eq(0));
  }

  @Test
  void aReadFailingMidwayKeepsWhatWasPublishedAndFailsTheRunWithItsFigures() throws Exception {
    start();
    long[] ids = LongStream.rangeClosed(1, PAGE * 3L).toArray();
    activeUsers(ids);
    claimEveryone();
    MockEndpoint sql = getMockEndpoint(SQL);
    sql.whenExchangeReceived(
        2,
        exchange -> {
          throw new SQLException("canceling statement due to statement timeout");
        });

    template.sendBody("direct:tick", null);

    assertThat(sql.getReceivedCounter()).isEqualTo(2); // the third page is never read
    assertThat(groups().stream().flatMap(List::stream).map(MiningMessage::userId))
        .containsExactlyElementsOf(LongStream.rangeClosed(1, PAGE).boxed().toList());
    verify(states, never()).releaseUnsent(any(), any(), anyList(), any());
    verify(states)
        .failRun(
            any(),
            org.mockito.ArgumentMatchers.contains("statement timeout"),
            eq(new FailedRun(PAGE, PAGE, 0, 0, 0)));
    verify(states, never()).finishRun(any(), anyInt(), anyInt(), anyInt(), anyInt());
    verify(metrics).tick("posts", "failed");
  }

  @Test
  void aGroupNotConfirmedInTheSecondPageReleasesItsRestAndThePageClaimedAhead() throws Exception {
    start();
    long[] ids = LongStream.rangeClosed(1, PAGE * 3L).toArray();
    activeUsers(ids);
    claimEveryone();
    int failing = PAGE / BATCH + 3; // the third group of the second page
    getMockEndpoint(MINING_QUEUE)
        .whenExchangeReceived(
            failing,
            exchange -> {
              throw new PublishFailedException("no confirm within 30000 ms");
            });

    template.sendBody("direct:tick", null);

    // the third page was claimed while the second was published, and is read no further
    assertThat(getMockEndpoint(SQL).getReceivedCounter()).isEqualTo(3);
    int published = PAGE + 2 * BATCH;
    ArgumentCaptor<List<Long>> released = listCaptor();
    verify(states).releaseUnsent(eq("posts"), any(), released.capture(), anyString());
    assertThat(released.getValue())
        .containsExactlyElementsOf(
            LongStream.rangeClosed(published + 1, PAGE * 3L).boxed().toList());
    verify(states)
        .failRun(
            any(),
            org.mockito.ArgumentMatchers.contains("no confirm"),
            eq(new FailedRun(PAGE * 3, published, PAGE * 3 - published, 0, 0)));
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static <T> ArgumentCaptor<List<T>> listCaptor() {
    return (ArgumentCaptor) ArgumentCaptor.forClass(List.class);
  }
}
