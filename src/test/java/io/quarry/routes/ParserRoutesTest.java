package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.config.QuarryProperties;
import io.quarry.message.DataBatch;
import io.quarry.mining.ClickParser;
import io.quarry.routes.deadletter.BusErrorHandling;
import io.quarry.routes.mining.ParserRoutes;
import io.quarry.storage.DataBatchCodec;
import java.util.List;
import java.util.UUID;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.springframework.amqp.core.Message;

/** The parser route: raw clicks in, validated and normalised clicks out to the data topic. */
class ParserRoutesTest extends CamelTestSupport {

  private final QuarryProperties properties = RouteTestProperties.withStream("ad-clicks", true);
  private final DataBatchCodec codec = mock(DataBatchCodec.class);
  private final ObjectMapper json = new ObjectMapper();

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder[] createRouteBuilders() {
    context.getRegistry().bind("codec", codec);
    context.getRegistry().bind("parser", new ClickParser());
    context
        .getRegistry()
        .bind(QuarryAmqpComponent.SCHEME, new QuarryAmqpComponent(mock(BatchPublisher.class)));
    BusNames names = new BusNames("qa");
    return new RoutesBuilder[] {
      new BusErrorHandling(properties), new ParserRoutes(properties, names, new Endpoints(names))
    };
  }

  @Test
  void publishesOnlyValidNormalisedClicks() throws Exception {
    AdviceWith.adviceWith(context, "ad-clicks-parser", a -> a.replaceFromWith("direct:raw"));
    AdviceWith.adviceWith(
        context, "ad-clicks-parser-worker", a -> a.mockEndpointsAndSkip("quarry-amqp:*"));
    context.start();
    MockEndpoint topic = getMockEndpoint("mock:quarry-amqp:exchange:ad-clicks-data-topic-qa");
    topic.expectedMessageCount(1);
    DataBatch raw =
        DataBatch.of(
            "ad-clicks",
            3,
            UUID.randomUUID(),
            1,
            List.of(
                json.readTree(
                    "{\"id\":\"c1\",\"adId\":\"AD-7\",\"clickedAt\":\"2025-03-01T12:00:00+02:00\",\"cost\":\"0.1\"}"),
                json.readTree(
                    "{\"id\":\"c2\",\"adId\":\"\",\"clickedAt\":\"2025-03-01T12:00:00Z\",\"cost\":\"0.1\"}"),
                json.readTree(
                    "{\"id\":\"c3\",\"adId\":\"ad-8\",\"clickedAt\":\"yesterday\",\"cost\":\"0.1\"}")));
    when(codec.read(any(), any())).thenReturn(raw);
    ArgumentCaptor<DataBatch> published = ArgumentCaptor.forClass(DataBatch.class);
    Message written = new Message(new byte[] {2});
    when(codec.write(published.capture())).thenReturn(written);

    template.sendBody("direct:raw", new byte[] {1});

    topic.assertIsSatisfied();
    assertThat(topic.getReceivedExchanges().get(0).getMessage().getBody()).isSameAs(written);
    assertThat(published.getValue().items()).hasSize(1);
    assertThat(published.getValue().items().get(0).toString())
        .contains("\"adId\":\"ad-7\"")
        .contains("\"clickedAt\":\"2025-03-01T10:00Z\"")
        .contains("\"cost\":\"0.1000\"");
    assertThat(published.getValue().batchId()).isEqualTo(raw.batchId());
  }
}
