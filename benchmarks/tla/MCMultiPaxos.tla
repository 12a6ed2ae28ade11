---------------------------- MODULE MCMultiPaxos ----------------------------
(***************************************************************************)
(* models/multipaxos.py transcribed into TLA+, action for action, so that  *)
(* TLC can count its states beside agree (benchmarks/multipaxos.py --tlc). *)
(* It is NOT Chand-Liu-Stoller's MultiPaxos.tla: it keeps agree's          *)
(* BecomeLeader (a leader recovers every slot once) and one 2a per ballot  *)
(* and slot. Every message record has every field (unused ones 0, NoVal or *)
(* {}), so that records compare within one domain.                         *)
(***************************************************************************)
EXTENDS Integers, FiniteSets, TLC

CONSTANTS Acceptor, Value, NoOp, NoVal, Closed, Free, NotLed, NSlots, MaxBallot

Ballot == 0..MaxBallot
Slot == 1..NSlots
Proposable == Value \cup {NoOp}
LeaderQuorum == {Q \in SUBSET Acceptor :
                   Cardinality(Q) = Cardinality(Acceptor) \div 2 + 1}

VARIABLES maxBal, votes, leaders, msgs
vars == <<maxBal, votes, leaders, msgs>>

Msg(t, a, b, f, s, v, vs) ==
  [type |-> t, acc |-> a, bal |-> b, first |-> f, slot |-> s, val |-> v, votes |-> vs]

Chosen(s) == {v \in Proposable : \E b \in Ballot, Q \in LeaderQuorum :
                \A a \in Q : Msg("2b", a, b, 0, s, v, {}) \in msgs}

Init == /\ maxBal = [a \in Acceptor |-> -1]
        /\ votes = [a \in Acceptor |-> [s \in Slot |-> <<-1, NoVal>>]]
        /\ leaders = [b \in Ballot |-> NotLed]
        /\ msgs = {}

Phase1a(b, f) ==
  /\ ~\E m \in msgs : m.type = "1a" /\ m.bal = b
  /\ \A s \in 1..(f - 1) : Chosen(s) # {}
  /\ msgs' = msgs \cup {Msg("1a", NoVal, b, f, 0, NoVal, {})}
  /\ UNCHANGED <<maxBal, votes, leaders>>

Report(a, f) == {<<s, votes[a][s][1], votes[a][s][2]>> :
                   s \in {t \in Slot : t >= f /\ votes[a][t][2] # NoVal}}

Phase1b(a, m) ==
  /\ m.type = "1a"
  /\ m.bal > maxBal[a]
  /\ maxBal' = [maxBal EXCEPT ![a] = m.bal]
  /\ msgs' = msgs \cup {Msg("1b", a, m.bal, m.first, 0, NoVal, Report(a, m.first))}
  /\ UNCHANGED <<votes, leaders>>

Best(R, s) ==
  LET rep == {t \in UNION {m.votes : m \in R} : t[1] = s}
  IN IF rep = {} THEN Free
     ELSE (CHOOSE t \in rep : \A u \in rep : t[2] >= u[2])[3]

BecomeLeader(b, Q) ==
  /\ leaders[b] = NotLed
  /\ \A a \in Q : \E m \in msgs : m.type = "1b" /\ m.bal = b /\ m.acc = a
  /\ LET f == (CHOOSE m \in msgs : m.type = "1a" /\ m.bal = b).first
         R == {m \in msgs : m.type = "1b" /\ m.bal = b /\ m.acc \in Q}
     IN leaders' = [leaders EXCEPT ![b] =
                      [s \in Slot |-> IF s < f THEN Closed ELSE Best(R, s)]]
  /\ UNCHANGED <<maxBal, votes, msgs>>

Phase2a(b, s, v) ==
  /\ leaders[b] # NotLed
  /\ leaders[b][s] # Closed
  /\ ~\E m \in msgs : m.type = "2a" /\ m.bal = b /\ m.slot = s
  /\ v \in (IF leaders[b][s] = Free THEN Proposable ELSE {leaders[b][s]} \cup Chosen(s))
  /\ msgs' = msgs \cup {Msg("2a", NoVal, b, 0, s, v, {})}
  /\ UNCHANGED <<maxBal, votes, leaders>>

Phase2b(a, m) ==
  /\ m.type = "2a"
  /\ m.bal >= maxBal[a]
  /\ maxBal' = [maxBal EXCEPT ![a] = m.bal]
  /\ votes' = [votes EXCEPT ![a][m.slot] = <<m.bal, m.val>>]
  /\ msgs' = msgs \cup {Msg("2b", a, m.bal, 0, m.slot, m.val, {})}
  /\ UNCHANGED leaders

Next == \/ \E b \in Ballot, f \in 1..(NSlots + 1) : Phase1a(b, f)
        \/ \E a \in Acceptor, m \in msgs : Phase1b(a, m)
        \/ \E b \in Ballot, Q \in LeaderQuorum : BecomeLeader(b, Q)
        \/ \E b \in Ballot, s \in Slot, v \in Proposable : Phase2a(b, s, v)
        \/ \E a \in Acceptor, m \in msgs : Phase2b(a, m)

Spec == Init /\ [][Next]_vars

Agreement == \A s \in Slot : Cardinality(Chosen(s)) <= 1

Symmetry == Permutations(Acceptor)
=============================================================================
