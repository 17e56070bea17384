package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.config.InvalidConfigurationException;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import io.quarry.deadletter.DeadLetterHeaders;
import io.quarry.flow.FlowEndpoints;
import io.quarry.routes.deadletter.BusErrorHandling;
import io.quarry.routes.delivery.DataSubscriberRoutes;
import io.quarry.storage.DataBatchCodec;
import io.quarry.storage.ReceivedBatch;
import io.quarry.storage.Subscribers;
import io.quarry.support.TestProperties;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;

/**
 * The data topic's subscribers with the storage beans mocked: each subscriber reads the batch the
 * way it needs it and hands it to its handler; a batch that cannot be read is dead-lettered at once
 * and never stored.
 */
class DataSubscriberRoutesTest extends CamelTestSupport {

  private static final UUID RUN = UUID.fromString("7d5c4f1e-2a43-4b8c-9a57-0d6e5f1e2a43");

  private final Subscribers subscribers = mock(Subscribers.class);
  private final List<Exchange> deadLettered = new ArrayList<>();

  static QuarryProperties properties(List<String> subscribers) {
    StreamProperties posts =
        new StreamProperties(
            "0 0 0 1 1 ? 2099", "/users/{userId}/posts", 100, 3, false, subscribers, 0);
    return TestProperties.of(
        TestProperties.posts(3, false, 65536).platform(),
        Map.of("posts", posts),
        TestProperties.mining(65536, 0));
  }

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder[] createRouteBuilders() {
    QuarryProperties properties = properties(List.of("raw-storage", "analytics", "notification"));
    context.getRegistry().bind("subscribers", subscribers);
    context
        .getRegistry()
        .bind(
            "dataBatchCodec",
            new DataBatchCodec(new ObjectMapper().findAndRegisterModules(), properties));
    BusNames names = new BusNames("qa");
    return new RoutesBuilder[] {
      new BusErrorHandling(properties),
      // the dead-letter route is BusErrorHandlingTest's: here, what the error handler hands it
      new RouteBuilder() {
        @Override
        public void configure() {
          from(FlowEndpoints.DEAD_LETTER).process(exchange -> deadLettered.add(exchange.copy()));
        }
      },
      new DataSubscriberRoutes(properties, names, new Endpoints(names))
    };
  }

  private void start() throws Exception {
    for (String subscriber : List.of("raw-storage", "analytics", "notification")) {
      AdviceWith.adviceWith(
          context, "posts-" + subscriber, a -> a.replaceFromWith("direct:consume-" + subscriber));
      AdviceWith.adviceWith(
          context,
          "posts-" + subscriber + "-worker",
          a -> a.weaveAddLast().to("mock:handled-" + subscriber));
    }
    context.start();
  }

  @Test
  void rawStorageGetsEveryItemWithItsIdAndText() throws Exception {
    start();

    template.sendBody("direct:consume-raw-storage", batch());

    ArgumentCaptor<ReceivedBatch> batch = ArgumentCaptor.forClass(ReceivedBatch.class);
    verify(subscribers).rawStorage(batch.capture());
    assertThat(batch.getValue().userId()).isEqualTo(42);
    assertThat(batch.getValue().runId()).isEqualTo(RUN);
    assertThat(batch.getValue().pages().get(0).items())
        .extracting(ReceivedBatch.Item::id)
        .containsExactly("a", "b");
    assertThat(batch.getValue().pages().get(0).items().get(0).json()).contains("\"id\":\"a\"");
    verify(subscribers, never()).analytics(any());
    verify(subscribers, never()).notification(any());
  }

  @Test
  void analyticsAndNotificationGetTheBatchWithoutTheItemTexts() throws Exception {
    start();

    template.sendBody("direct:consume-analytics", batch());
    template.sendBody("direct:consume-notification", batch());

    ArgumentCaptor<ReceivedBatch> days = ArgumentCaptor.forClass(ReceivedBatch.class);
    verify(subscribers).analytics(days.capture());
    assertThat(days.getValue().pages().get(0).items())
        .extracting(ReceivedBatch.Item::json)
        .containsOnlyNulls();
    ArgumentCaptor<ReceivedBatch> checked = ArgumentCaptor.forClass(ReceivedBatch.class);
    verify(subscribers).notification(checked.capture());
    assertThat(checked.getValue().userId()).isEqualTo(42);
    assertThat(checked.getValue().pages().get(0).items())
        .extracting(ReceivedBatch.Item::id)
        .containsOnlyNulls();
    verify(subscribers, never()).rawStorage(any());
  }

  @Test
  void aBatchThatCannotBeReadIsDeadLetteredAtOnceAndNeverStored() throws Exception {
    start();

    template.sendBody(
        "direct:consume-raw-storage", "{\"version\":2}".getBytes(StandardCharsets.UTF_8));

    verify(subscribers, never()).rawStorage(any());
    assertThat(deadLettered).hasSize(1);
    assertThat(deadLettered.get(0).getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY))
        .isEqualTo(false);
    assertThat(deadLettered.get(0).getProperty(DeadLetterHeaders.SOURCE_QUEUE_PROPERTY))
        .isEqualTo("posts-data-topic.raw-storage-qa");
  }

  @Test
  void anUnknownSubscriberIsRefusedWhenTheRoutesAreBuilt() throws Exception {
    BusNames names = new BusNames("qa");
    DataSubscriberRoutes routes =
        new DataSubscriberRoutes(properties(List.of("archive")), names, new Endpoints(names));

    try (DefaultCamelContext other = new DefaultCamelContext()) {
      assertThatThrownBy(() -> other.addRoutes(routes))
          .isInstanceOf(InvalidConfigurationException.class)
          .hasMessageContaining("archive");
    }
  }

  private static byte[] batch() {
    return ("{\"version\":1,\"batchId\":\""
            + RUN
            + ":42:posts:3\",\"stream\":\"posts\",\"userId\":42,\"runId\":\""
            + RUN
            + "\",\"page\":3,\"items\":[{\"id\":\"a\",\"createdAt\":\"2026-12-01T10:00:00Z\"},"
            + "{\"id\":\"b\"}]}")
        .getBytes(StandardCharsets.UTF_8);
  }
}
