package io.quarry.scheduling;

import java.security.Principal;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * The jobs API: {@code GET /api/jobs} for anyone logged in; trigger, pause, resume and schedule
 * edits for the admin role (SecurityConfig), with a CSRF token.
 */
@RestController
@RequestMapping("/api/jobs")
public class JobController {

  private final JobService jobs;

  public JobController(JobService jobs) {
    this.jobs = jobs;
  }

  @GetMapping
  public List<JobService.JobView> list() {
    return jobs.list();
  }

  @GetMapping("/{name}")
  public JobService.JobView get(@PathVariable String name) {
    return jobs.get(name);
  }

  @PostMapping("/{name}/trigger")
  @ResponseStatus(HttpStatus.ACCEPTED)
  public JobService.JobView trigger(@PathVariable String name, Principal user) {
    jobs.trigger(name, user.getName());
    return jobs.get(name);
  }

  @PostMapping("/{name}/pause")
  public JobService.JobView pause(@PathVariable String name, Principal user) {
    jobs.pause(name, user.getName());
    return jobs.get(name);
  }

  @PostMapping("/{name}/resume")
  public JobService.JobView resume(@PathVariable String name, Principal user) {
    jobs.resume(name, user.getName());
    return jobs.get(name);
  }

  /**
   * Sets the job's cron and time zone ({@code {"cron": "0 0 3 * * ?", "timeZone":
   * "Europe/Berlin"}}, zone optional, UTC by default) for the cluster; a paused job stays paused.
   */
  @RequestMapping(
      path = "/{name}/schedule",
      method = {RequestMethod.PUT, RequestMethod.POST})
  public JobService.JobView editSchedule(
      @PathVariable String name, @RequestBody JobService.ScheduleEdit edit, Principal user) {
    jobs.editSchedule(name, edit, user.getName());
    return jobs.get(name);
  }

  @ExceptionHandler(Schedules.InvalidScheduleException.class)
  ProblemDetail invalidSchedule(Schedules.InvalidScheduleException e) {
    ProblemDetail problem =
        ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, e.getMessage());
    problem.setProperty("field", e.field());
    return problem;
  }

  @ExceptionHandler(JobService.UnknownJobException.class)
  ProblemDetail unknown(JobService.UnknownJobException e) {
    return ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, e.getMessage());
  }
}
