package store

import (
	"context"
	"testing"
	"time"
)

func TestSignupQuestionsAndAnswers(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, b := newEvent(t, db, 0), newEvent(t, db, 0)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(SetSignupQuestion(ctx, db.W, a, "What will you bring?", t0))
	must(SetSignupQuestion(ctx, db.W, a, "What will you bring, really?", t0))
	must(SetSignupQuestion(ctx, db.W, b, "Shoe size?", t0))
	if q, err := SignupQuestion(ctx, db.R, a); err != nil || q != "What will you bring, really?" {
		t.Fatalf("question %q, %v", q, err)
	}

	// Asked once: a second ask changes nothing.
	for i, want := range []bool{true, false} {
		asked, err := MarkSignupAsked(ctx, db.W, a, 7, t0.Add(time.Duration(i)*time.Minute))
		if err != nil || asked != want {
			t.Fatalf("ask %d: %v, %v", i, asked, err)
		}
	}
	if _, err := MarkSignupAsked(ctx, db.W, b, 7, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := SignupAnswers(ctx, db.R, a); len(got) != 0 {
		t.Fatalf("an unanswered question has answers: %v", got)
	}
	// The oldest pending question comes first; the one being answered is left out.
	if id, ok, err := NextPendingSignup(ctx, db.R, 7, 0); err != nil || !ok || id != a {
		t.Fatalf("next pending %d %v %v", id, ok, err)
	}
	must(SaveSignupAnswer(ctx, db.W, a, 7, "Cake", t0.Add(2*time.Hour)))
	must(SaveSignupAnswer(ctx, db.W, a, 8, "Tea", t0.Add(2*time.Hour)))
	if got, _ := SignupAnswers(ctx, db.R, a); len(got) != 2 || got[7] != "Cake" || got[8] != "Tea" {
		t.Fatalf("answers %v", got)
	}
	if ans, ok, _ := GetSignupAnswer(ctx, db.R, a, 7); !ok || ans.State != SignupAnswered || !ans.AskedAt.Equal(t0) || !ans.AnsweredAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("answer row %+v", ans)
	}
	if id, ok, _ := NextPendingSignup(ctx, db.R, 7, 0); !ok || id != b {
		t.Fatalf("next pending after answering: %d %v", id, ok)
	}
	// A cancelled event or a removed question asks nothing more; answers stay.
	if _, err := CancelEvent(ctx, db.W, b, t0); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := NextPendingSignup(ctx, db.R, 7, 0); ok {
		t.Fatal("a cancelled event's question is still pending")
	}
	must(SetSignupQuestion(ctx, db.W, a, "", t0))
	if q, _ := SignupQuestion(ctx, db.R, a); q != "" {
		t.Fatalf("removed question: %q", q)
	}
	if got, _ := SignupAnswers(ctx, db.R, a); len(got) != 2 {
		t.Fatalf("answers lost with the question: %v", got)
	}
}
