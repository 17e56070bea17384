package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.config.QuarryProperties;
import io.quarry.support.QuarryIntegrationTest;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.camel.CamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.support.PluginHelper;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * The route model of the running application, as Camel dumps it at start-up ({@code
 * camel.main.dump-routes=xml}): the flow shows in the routes. Each stream's scheduler splits its
 * claims, each miner decides in the route, and the hops to the broker, the database and the mail
 * server are endpoint steps.
 */
@QuarryIntegrationTest
class RouteModelIT {

  private static final Pattern OUTBOUND =
      Pattern.compile("<(to|toD) [^>]*uri=\"(quarry-amqp|sql|smtp|smtps)[:a-z]*[^\"]*\"");

  @Autowired CamelContext camel;
  @Autowired QuarryProperties properties;

  private String dump(String routeId) throws Exception {
    ModelCamelContext model = (ModelCamelContext) camel;
    RouteDefinition route = model.getRouteDefinition(routeId);
    assertThat(route).as(routeId).isNotNull();
    return PluginHelper.getModelToXMLDumper(camel).dumpModelAsXml(camel, route);
  }

  @Test
  void everyStreamsSchedulerSplitsAndEveryMinerDecidesInItsRoute() throws Exception {
    for (String stream : properties.streams().keySet()) {
      assertThat(dump(stream + "-scheduler"))
          .as(stream + "-scheduler")
          .contains("<split")
          .contains("collate(")
          .contains("<loop")
          .contains("tick.morePages()")
          .contains("uri=\"sql:classpath:sql/active-users.sql")
          .contains("uri=\"quarry-amqp:queue:" + stream + "-mining-queue");
      assertThat(dump(stream + "-miner-pages"))
          .as(stream + "-miner-pages")
          .contains("<choice")
          .contains("<loop")
          .contains("<filter")
          .contains("<toD")
          .contains("uri=\"quarry-amqp:queue:" + stream + "-mining-queue");
    }
  }

  @Test
  void theHopsToTheBrokerTheDatabaseAndTheMailServerAreEndpointSteps() throws Exception {
    List<String> outbound = new ArrayList<>();
    for (RouteDefinition route : ((ModelCamelContext) camel).getRouteDefinitions()) {
      Matcher step = OUTBOUND.matcher(dump(route.getRouteId()));
      while (step.find()) {
        outbound.add(route.getRouteId() + " " + step.group());
      }
    }
    assertThat(outbound).hasSizeGreaterThanOrEqualTo(12);
    assertThat(outbound).anyMatch(step -> step.contains("uri=\"sql:"));
    assertThat(outbound).anyMatch(step -> step.contains("uri=\"quarry-amqp:exchange:"));
  }
}
