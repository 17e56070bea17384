package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
import io.quarry.bus.amqp.Routed;
import io.quarry.config.QuarryProperties;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.support.TestProperties;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The fan-out without a broker or database: what it publishes, records and releases. */
class MiningSchedulerTest {

  private final MiningStateRepository states = mock(MiningStateRepository.class);
  private final BatchPublisher publisher = mock(BatchPublisher.class);
  private final QuarryProperties properties = TestProperties.posts(5, false, 65536);
  private final MiningMessageCodec codec =
      new MiningMessageCodec(new ObjectMapper().findAndRegisterModules(), properties);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final MiningScheduler scheduler =
      new MiningScheduler(states, publisher, codec, new BusNames("qa"), properties, meters);
  private final UUID run = UUID.randomUUID();

  private static List<Map<String, Object>> users(long... ids) {
    return java.util.Arrays.stream(ids).mapToObj(id -> Map.<String, Object>of("id", id)).toList();
  }

  @Test
  void aResumedChainStartsAtItsSavedMarkerAndIsCounted() {
    when(states.claim(eq("posts"), eq(run), anyList(), any()))
        .thenReturn(
            List.of(
                new MiningStateRepository.Claim(1, null, false),
                new MiningStateRepository.Claim(2, "m-6", true)));
    when(states.alive(run)).thenReturn(true);
    when(states.published(any(), anyInt(), anyLong())).thenReturn(true);
    // The scheduler reuses its batch list: keep what each call sent.
    List<Routed> sent = new java.util.ArrayList<>();
    org.mockito.Mockito.doAnswer(call -> sent.addAll(call.getArgument(0)))
        .when(publisher)
        .publishAll(anyList(), anyLong());

    Map<String, Object> figures = scheduler.fanOut(users(1, 2, 3), "posts", run);

    assertThat(figures)
        .containsEntry("read", 3)
        .containsEntry("scheduled", 2)
        .containsEntry("resumed", 1)
        .containsEntry("skipped", 1);
    List<MiningMessage> messages =
        sent.stream().map(outgoing -> codec.read(outgoing.message().getBody(), null)).toList();
    assertThat(messages)
        .extracting(MiningMessage::userId, MiningMessage::currentMarker, MiningMessage::pagesMined)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, null, 0L),
            org.assertj.core.groups.Tuple.tuple(2L, "m-6", 0L));
    verify(states).finishRun(run, 3, 2, 1, 1);
    assertThat(meters.counter("quarry.scheduler.users.resumed", "stream", "posts").count())
        .isEqualTo(1);
  }

  @Test
  void aRunClosedAsAbandonedDuringItsClaimReleasesWhatItClaimedAndSendsNothing() {
    when(states.claim(eq("posts"), eq(run), anyList(), any()))
        .thenReturn(List.of(new MiningStateRepository.Claim(1, null, false)));
    when(states.alive(run)).thenReturn(false);

    assertThatThrownBy(() -> scheduler.fanOut(users(1), "posts", run))
        .hasMessageContaining("closed as abandoned");

    verify(publisher, never()).publishAll(anyList(), anyLong());
    verify(states).releaseUnsent(eq("posts"), eq(run), eq(List.of(1L)), anyString());
    verify(states, never()).finishRun(any(), anyInt(), anyInt(), anyInt(), anyInt());
  }
}
